"""The outbound HTTPS connection to SNS (signing certificates, subscription confirmations).

POSTROOM_SNS_RESOLVE="sns.us-east-1.amazonaws.com=127.0.0.1:8443[,...]" pins host names to
addresses, like curl's --resolve, and POSTROOM_SNS_CA_FILE adds a CA to trust: together they let
a cluster without internet use an internal SNS stand-in (`postroom ses-sim`) with every URL check
left exactly as strict as for AWS itself.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from services.core.settings import Settings
from services.core.tls import client_context


class PinnedHostResolver(AbstractResolver):
    def __init__(self, pins: dict[str, tuple[str, int]]) -> None:
        self._pins = pins
        self._fallback = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        pinned = self._pins.get(host.lower())
        if pinned is None:
            return await self._fallback.resolve(host, port, family)
        address, pinned_port = pinned
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=pinned_port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        await self._fallback.close()


def parse_pins(spec: str) -> dict[str, tuple[str, int]]:
    pins: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        host, sep, target = item.partition("=")
        address, colon, port = target.rpartition(":")
        if not sep or not colon or not port.isdigit():
            raise SystemExit(f"POSTROOM_SNS_RESOLVE entries are host=address:port, got {item!r}")
        pins[host.strip().lower()] = (address, int(port))
    return pins


def sns_connector(settings: Settings) -> Callable[[], aiohttp.TCPConnector]:
    """What makes the connection pool to SNS when it is first needed (`SnsSession`). The settings
    are read now: a malformed POSTROOM_SNS_RESOLVE or an unreadable POSTROOM_SNS_CA_FILE stops
    the service at start, not at SNS's first message."""
    pins = parse_pins(settings.sns_resolve) if settings.sns_resolve else None
    tls = client_context(settings.sns_ca_file)
    return lambda: aiohttp.TCPConnector(resolver=PinnedHostResolver(pins) if pins else None, ssl=tls, limit=100)
