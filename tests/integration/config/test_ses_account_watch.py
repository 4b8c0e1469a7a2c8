"""Config records SES's own view of a provider's account: at save, and when a later poll finds a change."""

from __future__ import annotations

from dataclasses import replace

import grpc
import pytest

from services.config import main as config_main
from services.core.events import SES_ACCOUNT_AGGREGATE
from services.core.generated.postroom.v1 import config_pb2, config_pb2_grpc
from services.core.runtime import start_service
from services.ses_sim.main import SesSimulator
from tests.conftest import TEST_TOKEN
from tests.integration.ses_sim.conftest import simulator_settings
from tests.support.event_log import every_event
from tests.support.smtp import unused_loopback_host
from tests.support.streams import stop_then_delete_streams

METADATA = (("authorization", f"Bearer {TEST_TOKEN}"),)


@pytest.fixture
async def sim(tmp_path):
    host = unused_loopback_host(2587)  # SES's own port, on an address of its own
    async with SesSimulator(
        simulator_settings(tmp_path / "sim", host=host, smtp_port=2587, max_send_rate=20.0, daily_quota=5000)
    ) as running:
        yield running


@pytest.fixture
async def config(settings, sim):
    settings = replace(settings, ses_endpoint_url=sim.web_url, smtp_ca_file=str(sim.ca_file))
    service = await start_service("config", settings, config_main.build)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        yield service, config_pb2_grpc.ConfigServiceStub(channel)
    await stop_then_delete_streams(settings, (service,))


async def observations(store) -> list:
    return [
        e.ses_account_observed
        for e in await every_event(store.js, store.stream, store.prefix)
        if e.aggregate_type == SES_ACCOUNT_AGGREGATE
    ]


async def test_a_save_with_ses_keys_records_the_accounts_limits_and_a_poll_records_changes_once(config, sim):
    service, stub = config
    settings = config_pb2.ProviderSettings(
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
    saved = await stub.SaveProvider(
        config_pb2.SaveProviderRequest(account_id="acme", settings=settings), metadata=METADATA
    )
    (first,) = await observations(service.store)
    assert (first.provider_id, first.max_send_rate, first.max_24_hour_send) == (
        saved.provider.provider_id,
        20.0,
        5000.0,
    )
    assert first.enforcement_status == "HEALTHY" and first.sending_enabled

    watch = service.components.workers[0].__self__  # the running service's SesAccountWatch
    await watch.poll_once()
    assert len(await observations(service.store)) == 1, "nothing changed: nothing recorded"

    sim.set_account(max_send_rate=7, enforcement_status="PROBATION")
    await watch.poll_once()
    await watch.poll_once()
    observed = await observations(service.store)
    assert len(observed) == 2
    assert (observed[1].max_send_rate, observed[1].enforcement_status) == (7.0, "PROBATION")
