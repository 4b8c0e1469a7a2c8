"""A running config service, SES-like SMTP servers and SES API stand-ins for its tests."""

from __future__ import annotations

import grpc
import pytest
from aiohttp import web
from moto.server import ThreadedMotoServer

from services.config.main import build
from services.core.generated.postroom.v1 import config_pb2, config_pb2_grpc
from services.core.nats_server import free_port
from services.core.runtime import start_service
from tests.conftest import TEST_TOKEN
from tests.support.smtp import SesLikeSmtpServer, unused_loopback_host

AUTH = (("authorization", f"Bearer {TEST_TOKEN}"),)


@pytest.fixture
async def config_service(settings):
    service = await start_service("config", settings, build)
    yield service
    await service.stop()


@pytest.fixture
async def config(config_service):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{config_service.grpc_port}") as channel:
        yield config_pb2_grpc.ConfigServiceStub(channel)


@pytest.fixture
async def config_on_each_backend(read_model_settings):
    """A config stub whose service keeps its read model on SQLite, and on PostgreSQL when configured."""
    service = await start_service("config", read_model_settings, build)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            yield config_pb2_grpc.ConfigServiceStub(channel)
    finally:
        await service.stop()


@pytest.fixture
def starttls_smtp(test_ca):
    host = unused_loopback_host(2587)
    server = SesLikeSmtpServer(host=host, port=2587, tls_context=test_ca.server_context(host), implicit_tls=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def implicit_tls_smtp(test_ca):
    host = unused_loopback_host(2465)
    server = SesLikeSmtpServer(host=host, port=2465, tls_context=test_ca.server_context(host), implicit_tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_ses():
    """moto's server standing in for the SES HTTP APIs (v1 and v2)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
async def production_ses_api():
    """SESv2 GetAccount/GetEmailIdentity for a production account (moto has no GetAccount)."""
    verified = {"sender@example.com", "example.org"}

    async def account(_request):
        return web.json_response({"ProductionAccessEnabled": True, "SendingEnabled": True})

    async def identity(request):
        name = request.match_info["identity"]
        if name not in verified:
            return web.json_response({"message": "not found"}, status=404,
                                     headers={"x-amzn-ErrorType": "NotFoundException"})
        return web.json_response({"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": True})

    app = web.Application()
    app.router.add_get("/v2/email/account", account)
    app.router.add_get("/v2/email/identities/{identity}", identity)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def provider_settings(smtp: SesLikeSmtpServer | None = None, **overrides) -> config_pb2.ProviderSettings:
    values = dict(name="Amazon SES", smtp_host="email-smtp.us-east-1.amazonaws.com", smtp_port=587,
                  smtp_username="AKIATESTSMTPUSER0001", smtp_password="BSmtpPasswordForTests0123456789abcdefghijk",
                  from_address="sender@example.com", from_name="Acme", region="")
    if smtp:
        values.update(smtp_host=smtp.host, smtp_port=smtp.port, smtp_username=smtp.handler.username,
                      smtp_password=smtp.handler.password)
    values.update(overrides)
    return config_pb2.ProviderSettings(**values)
