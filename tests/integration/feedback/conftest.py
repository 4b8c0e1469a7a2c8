"""A running feedback service, a local HTTPS stand-in for Amazon SNS, and a client that posts as SNS.

Every host name the service looks up resolves to the stand-in, so any outbound request the
service makes (a certificate download, a subscription confirmation) is seen and counted there.
"""

from __future__ import annotations

import socket
import ssl
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from services.core.events import Event
from services.core.runtime import RunningService, start_service
from services.core.settings import Settings
from services.feedback.main import build
from tests.support import certificates
from tests.support.events import provider_saved
from tests.support.sns_signing import (
    DEFAULT_TOPIC_ARN,
    SnsSigningAuthority,
    SnsSigningIdentity,
    http_body,
    http_headers,
)

SNS_HOST = "sns.us-east-1.amazonaws.com"
ACCOUNT = "acct-1"


class EveryHostIsTheLocalServer(AbstractResolver):
    def __init__(self, port: int, lookups: list[str], failing_lookups: list[int] | None = None) -> None:
        self._port = port
        self._lookups = lookups
        self._failing = failing_lookups if failing_lookups is not None else [0]

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self._lookups.append(host)
        if self._failing[0] > 0:  # our resolver is down: a fault on our side of the network
            self._failing[0] -= 1
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=self._port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass


@dataclass
class LocalSns:
    """Serves the signing certificate and answers ConfirmSubscription like SNS; counts every hit."""

    identity: SnsSigningIdentity
    hits: Counter = field(default_factory=Counter)
    lookups: list[str] = field(default_factory=list)
    confirmations: list[dict[str, str]] = field(default_factory=list)
    confirm_status: int = 200
    certificate_status: int = 200
    failing_lookups: list[int] = field(default_factory=lambda: [0])  # the next N look-ups fail
    port: int = 0

    def app(self) -> web.Application:
        @web.middleware
        async def count(request: web.Request, handler) -> web.StreamResponse:
            self.hits[request.path] += 1
            return await handler(request)

        app = web.Application(middlewares=[count])
        app.router.add_get(f"/{self.identity.certificate_file_name}", self._certificate)
        app.router.add_get("/", self._action)
        return app

    async def _certificate(self, _: web.Request) -> web.Response:
        if self.certificate_status != 200:
            return web.Response(status=self.certificate_status, text="unavailable")
        return web.Response(body=self.identity.certificate_pem())

    async def _action(self, request: web.Request) -> web.Response:
        if request.query.get("Action") != "ConfirmSubscription":
            return web.Response(status=400, text="unknown action")
        self.confirmations.append(dict(request.query))
        arn = f"{request.query.get('TopicArn', '')}:{uuid.uuid4()}"
        return web.Response(
            status=self.confirm_status,
            content_type="text/xml",
            text=(
                "<ConfirmSubscriptionResponse><ConfirmSubscriptionResult>"
                f"<SubscriptionArn>{arn}</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>"
            ),
        )

    @property
    def requests(self) -> int:
        return sum(self.hits.values()) + len(self.lookups)

    def connector(self, authority: certificates.TestCertificateAuthority) -> aiohttp.TCPConnector:
        trusting = ssl.create_default_context(cafile=str(authority.ca_file))
        return aiohttp.TCPConnector(
            resolver=EveryHostIsTheLocalServer(self.port, self.lookups, self.failing_lookups),
            ssl=trusting,
            use_dns_cache=False,
        )


@dataclass
class FeedbackHarness:
    service: RunningService
    sns: LocalSns
    identity: SnsSigningIdentity
    client: aiohttp.ClientSession
    provider_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    account_id: str = ACCOUNT

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.components.http[0].port}/sns/{self.account_id}/{self.provider_id}"

    async def save_provider(
        self,
        topics: tuple[str, ...] = (DEFAULT_TOPIC_ARN,),
        *,
        allow_first: bool = False,
        provider_id: str | None = None,
        account_id: str | None = None,
    ) -> int:
        event = provider_saved(
            account_id or self.account_id,
            provider_id or self.provider_id,
            sns_topic_arns=list(topics),
            allow_first_sns_topic=allow_first,
        )
        appended = await self.service.store.append(event)
        await self.settle(appended.stream_seq)
        return appended.stream_seq

    async def settle(self, stream_seq: int | None = None) -> None:
        """Wait until the read model holds everything appended so far."""
        target = stream_seq or await self.service.store.last_sequence()
        assert await self.service.components.projections[0].wait_for(target, 10)

    async def post(
        self, message: dict[str, Any] | bytes, headers: dict[str, str] | None = None, url: str | None = None
    ) -> tuple[int, str]:
        body = message if isinstance(message, bytes) else http_body(message)
        sent_headers = headers if headers is not None else http_headers(message)  # type: ignore[arg-type]
        async with self.client.post(url or self.url, data=body, headers=sent_headers) as response:
            return response.status, await response.text()

    async def post_signed(self, message: dict[str, Any], version: str = "1") -> tuple[int, str]:
        return await self.post(self.identity.sign(message, version))

    async def events(self, *types: str) -> list[Event]:
        store = self.service.store
        found = []
        for seq in range(1, await store.last_sequence() + 1):
            raw = await store.js.get_msg(store.stream, seq)
            event = Event.FromString(raw.data or b"")
            if not types or event.type in types:
                found.append(event)
        return found


@pytest.fixture(scope="session")
def sns_authority() -> SnsSigningAuthority:
    return SnsSigningAuthority.create()


@pytest.fixture(scope="session")
def signing_identity(sns_authority: SnsSigningAuthority) -> SnsSigningIdentity:
    return SnsSigningIdentity.issued_by(sns_authority)


@pytest.fixture
async def local_sns(test_ca, signing_identity: SnsSigningIdentity) -> AsyncIterator[LocalSns]:
    sns = LocalSns(signing_identity)
    runner = web.AppRunner(sns.app(), shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=test_ca.server_context(SNS_HOST)).start()
    sns.port = runner.addresses[0][1]
    yield sns
    await runner.cleanup()


async def start_feedback(settings: Settings, sns: LocalSns, test_ca) -> RunningService:
    return await start_service("feedback", settings, partial(build, connector=sns.connector(test_ca)))


@pytest.fixture
async def feedback(
    settings: Settings, local_sns: LocalSns, test_ca, signing_identity: SnsSigningIdentity
) -> AsyncIterator[FeedbackHarness]:
    """The service downloading certificates from the local SNS, as it does by default."""
    async for harness in _harness(settings, local_sns, test_ca, signing_identity):
        yield harness


@pytest.fixture
async def pinned_feedback(
    read_model_settings: Settings, local_sns: LocalSns, test_ca, signing_identity: SnsSigningIdentity, tmp_path: Path
) -> AsyncIterator[FeedbackHarness]:
    """The service with a pinned-certificate directory (POSTROOM_SNS_CERT_DIR), on each read-model backend."""
    pinned = tmp_path / "sns-certs"
    pinned.mkdir()
    signing_identity.pin_in(pinned)
    settings = replace(read_model_settings, sns_cert_dir=str(pinned))
    async for harness in _harness(settings, local_sns, test_ca, signing_identity):
        yield harness


async def _harness(
    settings: Settings, sns: LocalSns, test_ca, identity: SnsSigningIdentity
) -> AsyncIterator[FeedbackHarness]:
    service = await start_feedback(settings, sns, test_ca)
    try:
        async with aiohttp.ClientSession() as client:
            yield FeedbackHarness(service, sns, identity, client)
    finally:
        await service.stop()
