"""The HTTPS session to SNS (signing certificates, subscription confirmations), opened on first use.

A feedback service may run for a long time before it needs SNS: certificates are fetched once each
and kept, pinned ones (POSTROOM_SNS_CERT_DIR) never are, and a subscription is confirmed once. So
aiohttp's client (3.7 MB of a process, `services/core/aiohttp_without_client.py`) and the
session's connector come with the first request. Every request here is a GET of an exact URL
(its escapes kept as SNS wrote them), with a total timeout and no redirects followed: an SNS URL
that redirects elsewhere is not SNS's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp
from yarl import URL

if TYPE_CHECKING:
    from aiohttp.client import _RequestContextManager


class SnsSession:
    def __init__(self, connector: Callable[[], aiohttp.BaseConnector]) -> None:
        """`connector` makes the connection pool (its resolver and TLS context) when first needed."""
        self._connector = connector
        self._session: aiohttp.ClientSession | None = None

    def get(self, url: str, *, timeout_seconds: float) -> _RequestContextManager:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=self._connector(), trust_env=False)
        return self._session.get(
            URL(url, encoded=True), allow_redirects=False, timeout=aiohttp.ClientTimeout(total=timeout_seconds)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
