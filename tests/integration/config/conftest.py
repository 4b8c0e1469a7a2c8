"""A running config service, SES-like SMTP servers and SES API stand-ins for its tests."""

from __future__ import annotations

import functools
from dataclasses import replace

import grpc
import pytest
from aiohttp import web
from moto.server import ThreadedMotoServer

from services.config import main as config_main
from services.config.main import build
from services.core.generated.postroom.v1 import config_pb2, config_pb2_grpc, dispatch_pb2_grpc, unsubscribe_pb2_grpc
from services.core.nats_server import free_port
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from services.ses_sim.main import SesSimulator
from services.unsubscribe import main as unsubscribe_main
from tests.conftest import TEST_TOKEN
from tests.integration.dispatch.dispatch_support import FAST
from tests.integration.ses_sim.conftest import simulator_settings
from tests.support.smtp import SesLikeSmtpServer, unused_loopback_host
from tests.support.streams import stop_then_delete_streams
from tests.support.unsubscribe import with_unsubscribe_key

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
            return web.json_response(
                {"message": "not found"}, status=404, headers={"x-amzn-ErrorType": "NotFoundException"}
            )
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
    values = dict(
        name="Amazon SES",
        smtp_host="email-smtp.us-east-1.amazonaws.com",
        smtp_port=587,
        smtp_username="AKIATESTSMTPUSER0001",
        smtp_password="BSmtpPasswordForTests0123456789abcdefghijk",
        from_address="sender@example.com",
        from_name="Acme",
        region="",
    )
    if smtp:
        values.update(
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_username=smtp.handler.username,
            smtp_password=smtp.handler.password,
        )
    values.update(overrides)
    return config_pb2.ProviderSettings(**values)


# ---- config, dispatch and unsubscribe against ses-sim (SES's API and its SMTP interface) ----


@pytest.fixture
async def ses_sim(tmp_path):
    host = unused_loopback_host(2587)
    async with SesSimulator(simulator_settings(tmp_path / "sim", host=host, smtp_port=2587)) as running:
        yield running


@pytest.fixture
async def ses_suite(read_model_settings, ses_sim):
    settings = with_unsubscribe_key(
        replace(read_model_settings, ses_endpoint_url=ses_sim.web_url, smtp_ca_file=str(ses_sim.ca_file))
    )
    config = await start_service("config", settings, config_main.build)
    dispatch = await start_service("dispatch", settings, functools.partial(dispatch_main.build, timings=FAST))
    unsubscribe = await start_service("unsubscribe", settings, unsubscribe_main.build)
    channels = [
        grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") for service in (config, dispatch, unsubscribe)
    ]
    yield (
        config,
        config_pb2_grpc.ConfigServiceStub(channels[0]),
        dispatch_pb2_grpc.DispatchServiceStub(channels[1]),
        unsubscribe_pb2_grpc.UnsubscribeServiceStub(channels[2]),
    )
    for channel in channels:
        await channel.close()
    await stop_then_delete_streams(settings, (unsubscribe, dispatch, config))


def ses_provider_settings(sim: SesSimulator, **fields) -> config_pb2.ProviderSettings:
    values = dict(
        name="SES",
        smtp_host=sim.settings.host,
        smtp_port=2587,
        smtp_username=sim.settings.smtp_username,
        smtp_password=sim.settings.smtp_password,
        from_address="sender@example.com",
        region="us-east-1",
        ses_access_key_id="AKIAPOSTROOMSESSIM01",
        ses_secret_access_key="local-sim-secret",
        max_send_rate=100,
    )
    return config_pb2.ProviderSettings(**{**values, **fields})
