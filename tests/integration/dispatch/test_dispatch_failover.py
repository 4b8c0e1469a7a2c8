"""Failover over real SMTP: a primary and its fallback (SES in another region) saved through config.
The primary's SMTP login starts failing; once it is paused its queued mail goes out through the
fallback, From the primary's address; saved again, the primary takes its mail back. No email is
sent twice, and EmailDispatched names the provider that sent each one."""

from __future__ import annotations

import collections
import functools

import grpc
import pytest

from services.config import main as config_main
from services.core.generated.postroom.v1 import config_pb2, config_pb2_grpc, dispatch_pb2, dispatch_pb2_grpc
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from tests.integration.dispatch.dispatch_support import (
    ACCOUNT,
    FAST,
    METADATA,
    email,
    start_sink,
    wait_for_status,
    wait_until,
)
from tests.support.event_log import every_event


@pytest.fixture
def second_sink(test_ca):
    server = start_sink(test_ca)
    yield server
    server.stop()


@pytest.fixture
async def services(dispatch_settings, store):
    config = await start_service("config", dispatch_settings, config_main.build)
    dispatch = await start_service("dispatch", dispatch_settings, functools.partial(dispatch_main.build, timings=FAST))
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{config.grpc_port}") as config_channel,
        grpc.aio.insecure_channel(f"127.0.0.1:{dispatch.grpc_port}") as dispatch_channel,
    ):
        yield config_pb2_grpc.ConfigServiceStub(config_channel), dispatch_pb2_grpc.DispatchServiceStub(dispatch_channel)
    await dispatch.stop()
    await config.stop()


def settings_for(sink, **overrides) -> config_pb2.ProviderSettings:
    values = dict(
        name="SES",
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_username=sink.handler.username,
        smtp_password=sink.handler.password,
        from_address="sender@example.com",
        from_name="Acme Mail",
        region="us-east-1",
        max_send_rate=200,
    )
    values.update(overrides)
    return config_pb2.ProviderSettings(**values)


async def save(config, settings, provider_id: str = "", version: int = 0) -> config_pb2.Provider:
    return (
        await config.SaveProvider(
            config_pb2.SaveProviderRequest(
                account_id=ACCOUNT, provider_id=provider_id, version=version, settings=settings
            ),
            metadata=METADATA,
        )
    ).provider


async def send(dispatch, provider_id: str, tag: str, count: int) -> list[str]:
    answer = await dispatch.SendEmailBatch(
        dispatch_pb2.SendEmailBatchRequest(
            messages=[email(to=f"{tag}{i}@example.org", provider_id=provider_id) for i in range(count)]
        ),
        metadata=METADATA,
    )
    return [result.dispatch_id for result in answer.results]


async def test_a_paused_primarys_mail_fails_over_and_comes_back_after_a_save(services, store, sink, second_sink):
    config, dispatch = services
    fallback = await save(config, settings_for(second_sink, region="eu-west-1"))
    primary = await save(config, settings_for(sink, fallback_provider_ids=[fallback.provider_id], max_connections=2))

    before = await send(dispatch, primary.provider_id, "before", 5)
    for dispatch_id in before:
        assert (
            await wait_for_status(dispatch, dispatch_id, dispatch_pb2.DISPATCHED)
        ).sent_by_provider_id == primary.provider_id
    assert len(second_sink.received) == 0

    # The SMTP password is rotated elsewhere: open sessions are closed (421) and every new login fails.
    good_password, sink.handler.password = sink.handler.password, "rotated-by-someone-else"
    sink.script(*["421 Service unavailable, closing transmission channel"] * 2)
    during = await send(dispatch, primary.provider_id, "during", 10)
    for dispatch_id in during:
        view = await wait_for_status(dispatch, dispatch_id, dispatch_pb2.DISPATCHED)
        assert (view.status, view.sent_by_provider_id) == (dispatch_pb2.DISPATCHED, fallback.provider_id)
    via_fallback = [m for m in second_sink.received if m.dispatch_id in during]
    assert len(via_fallback) == 10
    assert all(m.parsed()["From"].addresses[0].addr_spec == "sender@example.com" for m in via_fallback)

    sink.handler.password = good_password
    await save(
        config,
        settings_for(sink, fallback_provider_ids=[fallback.provider_id], max_connections=2),
        provider_id=primary.provider_id,
        version=primary.version,
    )
    after = await send(dispatch, primary.provider_id, "after", 5)
    for dispatch_id in after:
        assert (
            await wait_for_status(dispatch, dispatch_id, dispatch_pb2.DISPATCHED)
        ).sent_by_provider_id == primary.provider_id

    assert await wait_until(lambda: len(sink.received) + len(second_sink.received) >= 20)
    delivered = collections.Counter(m.dispatch_id for m in [*sink.received, *second_sink.received])
    assert set(delivered) == {*before, *during, *after}
    assert max(delivered.values()) == 1, "an email was sent twice"
    log = await every_event(store.js, store.stream, store.prefix)
    sent_by = {e.aggregate_id: e.email_dispatched.sent_by_provider_id for e in log if e.type == "EmailDispatched"}
    assert {sent_by[d] for d in during} == {fallback.provider_id}
    assert {sent_by[d] for d in before + after} == {primary.provider_id}
    assert [e.provider_paused.cause for e in log if e.type == "ProviderPaused"] == ["failures"]


async def test_a_fallback_with_another_from_domain_is_not_used(services, sink, second_sink):
    config, dispatch = services
    elsewhere = await save(config, settings_for(second_sink, from_address="news@other.test"))
    primary = await save(config, settings_for(sink, fallback_provider_ids=[elsewhere.provider_id]))
    sink.handler.password = "rotated-by-someone-else"
    held = await send(dispatch, primary.provider_id, "held", 4)
    view = await wait_for_status(dispatch, held[0], dispatch_pb2.DISPATCHED, timeout=3)
    assert view.status == dispatch_pb2.QUEUED and "Invalid Credentials" in view.provider_paused_reason
    assert second_sink.received == [], "SES would refuse a From its identities do not cover"
