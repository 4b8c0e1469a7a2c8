"""HttpsCertificateFetcher against a local HTTPS stand-in for SNS (no real network).

Every host name resolves to the local server, so a request for any URL, allowed or not, would be
seen and counted there.
"""

import asyncio
import socket
import ssl
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.typedefs import Handler

from services.feedback.sns_message import parse_sns_message
from services.feedback.sns_session import SnsSession
from services.feedback.sns_verifier import (
    CertificateUnavailableError,
    HttpsCertificateFetcher,
    SnsSignatureVerifier,
    SnsVerificationError,
)

# A module import: a Test* class imported by name would be taken for a test class by pytest.
from tests.support import certificates
from tests.support.sns_signing import (
    SnsSigningIdentity,
    http_body,
    http_headers,
    notification,
)

HOST = "sns.us-east-1.amazonaws.com"
CAP = 64 * 1024


@dataclass
class LocalSns:
    hits: Counter = field(default_factory=Counter)
    lookups: list[str] = field(default_factory=list)
    session: SnsSession | None = None

    def url(self, name: str) -> str:
        return f"https://{HOST}/SimpleNotificationService-{name}.pem"

    def fetcher(self, **options: float) -> HttpsCertificateFetcher:
        assert self.session is not None
        return HttpsCertificateFetcher(self.session, **options)


class EveryHostIsTheLocalServer(AbstractResolver):
    def __init__(self, port: int, lookups: list[str]) -> None:
        self._port = port
        self._lookups = lookups

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self._lookups.append(host)
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


def local_sns_app(identity: SnsSigningIdentity, hits: Counter) -> web.Application:
    @web.middleware
    async def count_hits(request: web.Request, handler: Handler) -> web.StreamResponse:
        hits[request.path] += 1
        return await handler(request)

    async def certificate(_: web.Request) -> web.Response:
        return web.Response(body=identity.certificate_pem())

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound(f"/SimpleNotificationService-{identity.certificate_id}.pem")

    async def declared_huge(_: web.Request) -> web.Response:
        return web.Response(body=b"A" * (CAP + 1))

    async def streamed_huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"A" * CAP)
        return response

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=identity.certificate_pem())

    app = web.Application(middlewares=[count_hits])
    app.router.add_get(f"/SimpleNotificationService-{identity.certificate_id}.pem", certificate)
    app.router.add_get("/SimpleNotificationService-redirect.pem", redirect)
    app.router.add_get("/SimpleNotificationService-declaredhuge.pem", declared_huge)
    app.router.add_get("/SimpleNotificationService-streamedhuge.pem", streamed_huge)
    app.router.add_get("/SimpleNotificationService-garbage.pem", answering(200, b"not a certificate"))
    app.router.add_get("/SimpleNotificationService-unavailable.pem", answering(503, b"busy"))
    app.router.add_get("/SimpleNotificationService-slow.pem", slow)
    return app


def answering(status: int, body: bytes) -> Handler:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(status=status, body=body)

    return handler


def trusting(authority: certificates.LocalCertificateAuthority) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(authority.ca_file))


async def started_local_server(app: web.Application, ssl_context: ssl.SSLContext) -> web.AppRunner:
    # A short shutdown_timeout so the deliberately slow handler does not hold up teardown.
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
    return runner


@pytest.fixture
async def local_sns(
    test_ca: certificates.LocalCertificateAuthority, signing_identity: SnsSigningIdentity
) -> AsyncIterator[LocalSns]:
    local = LocalSns()
    runner = await started_local_server(local_sns_app(signing_identity, local.hits), test_ca.server_context(HOST))
    port = runner.addresses[0][1]
    connector = aiohttp.TCPConnector(resolver=EveryHostIsTheLocalServer(port, local.lookups), ssl=trusting(test_ca))
    local.session = SnsSession(lambda: connector)
    yield local
    await local.session.close()
    await runner.cleanup()


async def test_certificate_is_downloaded_from_an_allowed_url(
    local_sns: LocalSns, signing_identity: SnsSigningIdentity
) -> None:
    certificate = await local_sns.fetcher().get(signing_identity.signing_cert_url)
    assert certificate == signing_identity.certificate
    assert local_sns.hits == Counter({f"/{signing_identity.certificate_file_name}": 1})


REFUSED_URLS = [
    "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://evil.example.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-abc.pem",
    "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com@evil.com/SimpleNotificationService-abc.pem",
    "https://sns-bucket.s3.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem?download=1",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_refused_url_is_never_requested(local_sns: LocalSns, url: str) -> None:
    with pytest.raises(SnsVerificationError):
        await local_sns.fetcher().get(url)
    assert local_sns.hits == Counter() and local_sns.lookups == []


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_message_with_a_refused_url_makes_no_request(
    local_sns: LocalSns, signing_identity: SnsSigningIdentity, url: str
) -> None:
    signed = dict(signing_identity.sign(notification("x")), SigningCertURL=url)
    message = parse_sns_message(http_body(signed), http_headers(signed))
    with pytest.raises(SnsVerificationError):
        await SnsSignatureVerifier(local_sns.fetcher()).verify(message)
    assert local_sns.hits == Counter() and local_sns.lookups == []


async def test_redirect_is_not_followed(local_sns: LocalSns, signing_identity: SnsSigningIdentity) -> None:
    with pytest.raises(SnsVerificationError, match="302"):
        await local_sns.fetcher().get(local_sns.url("redirect"))
    assert local_sns.hits == Counter({"/SimpleNotificationService-redirect.pem": 1})


@pytest.mark.parametrize("name", ["declaredhuge", "streamedhuge"])
async def test_oversized_certificate_is_refused(local_sns: LocalSns, name: str) -> None:
    with pytest.raises(SnsVerificationError, match="larger than"):
        await local_sns.fetcher(max_bytes=CAP).get(local_sns.url(name))


async def test_body_that_is_not_a_certificate_is_refused(local_sns: LocalSns) -> None:
    with pytest.raises(SnsVerificationError, match="not a PEM"):
        await local_sns.fetcher().get(local_sns.url("garbage"))


async def test_missing_certificate_is_refused_with_403(local_sns: LocalSns) -> None:
    with pytest.raises(SnsVerificationError) as caught:
        await local_sns.fetcher().get(local_sns.url("doesnotexist"))
    assert caught.value.status == 403


async def test_sns_failing_answers_503_so_sns_retries(local_sns: LocalSns) -> None:
    with pytest.raises(CertificateUnavailableError) as caught:
        await local_sns.fetcher().get(local_sns.url("unavailable"))
    assert caught.value.status == 503


async def test_slow_download_times_out(local_sns: LocalSns) -> None:
    with pytest.raises(CertificateUnavailableError):
        await local_sns.fetcher(timeout_seconds=0.2).get(local_sns.url("slow"))


async def test_server_with_an_untrusted_tls_certificate_is_refused(
    test_ca: certificates.LocalCertificateAuthority, signing_identity: SnsSigningIdentity, tmp_path: Path
) -> None:
    stranger = certificates.LocalCertificateAuthority.create(tmp_path / "stranger")
    runner = await started_local_server(local_sns_app(signing_identity, Counter()), stranger.server_context(HOST))
    connector = aiohttp.TCPConnector(
        resolver=EveryHostIsTheLocalServer(runner.addresses[0][1], []), ssl=trusting(test_ca)
    )
    session = SnsSession(lambda: connector)
    try:
        with pytest.raises(SnsVerificationError):
            await HttpsCertificateFetcher(session).get(signing_identity.signing_cert_url)
    finally:
        await session.close()
        await runner.cleanup()


async def test_verifier_downloads_each_certificate_once(
    local_sns: LocalSns, signing_identity: SnsSigningIdentity
) -> None:
    verifier = SnsSignatureVerifier(local_sns.fetcher())
    signed = [signing_identity.sign(notification(str(n)), "2") for n in range(12)]
    messages = [parse_sns_message(http_body(fields), http_headers(fields)) for fields in signed]
    await asyncio.gather(*(verifier.verify(message) for message in messages[:6]))
    for message in messages[6:]:
        await verifier.verify(message)
    assert local_sns.hits == Counter({f"/{signing_identity.certificate_file_name}": 1})
