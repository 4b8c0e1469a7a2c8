"""SES's own limits, as config records them (SesAccountObserved): MaxSendRate caps the provider's
rate, and Max24HourSend holds mail back, with the reason in GetDispatch, until there is room."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import replace

import grpc
import pytest

from services.core.events import SES_ACCOUNT_AGGREGATE, new_event
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from tests.integration.dispatch.dispatch_support import (
    ACCOUNT,
    FAST,
    METADATA,
    PROVIDER,
    email,
    save_provider,
    wait_for_status,
    wait_until,
)


async def observe(store, **quota) -> None:
    last = await store.last_event(SES_ACCOUNT_AGGREGATE, PROVIDER)
    event = new_event(
        events_pb2.SesAccountObserved(
            provider_id=PROVIDER,
            region="us-east-1",
            enforcement_status="HEALTHY",
            sending_enabled=True,
            production_access_enabled=True,
            **quota,
        ),
        account_id=ACCOUNT,
        aggregate_type=SES_ACCOUNT_AGGREGATE,
        aggregate_id=PROVIDER,
    )
    await store.append(event, expected_sequence=last.stream_seq if last else 0)


@pytest.fixture
async def quick_stub(dispatch_settings, store):
    settings = replace(dispatch_settings, ses_account_poll_seconds=0.2)  # dispatch rereads SES's limits often
    running = await start_service("dispatch", settings, functools.partial(dispatch_main.build, timings=FAST))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.grpc_port}") as channel:
        yield dispatch_pb2_grpc.DispatchServiceStub(channel)
    await running.stop()


async def test_ses_max_send_rate_caps_the_providers_own(quick_stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink, max_send_rate=1000.0)
    await observe(store, max_send_rate=5.0, max_24_hour_send=50_000)
    asked = time.monotonic()
    answer = await quick_stub.SendEmailBatch(
        dispatch_pb2.SendEmailBatchRequest(messages=[email(to=f"r{i}@example.org") for i in range(15)]),
        metadata=METADATA,
    )
    for result in answer.results:
        await wait_for_status(quick_stub, result.dispatch_id, dispatch_pb2.DISPATCHED)
    last = max(message.received_at for message in sink.received)
    # From the call, not from the first arrival: the burst's first messages wait for their
    # connections' TLS and AUTH (0.1 s here, 0.45 s on a loaded machine), while the 15th token
    # is due 1.8 s after the first whatever the connections do.
    assert last - asked >= 1.5, "5 saved up, then 5 a second: the 15th email goes about 1.8 s after the call"


async def test_the_daily_quota_holds_mail_with_its_reason_until_there_is_room(
    quick_stub, store, dispatch_settings, sink
):
    await save_provider(store, dispatch_settings, sink, max_send_rate=1000.0)
    await observe(store, max_send_rate=1000.0, max_24_hour_send=3)
    answer = await quick_stub.SendEmailBatch(
        dispatch_pb2.SendEmailBatchRequest(messages=[email(to=f"r{i}@example.org") for i in range(5)]),
        metadata=METADATA,
    )
    assert await wait_until(lambda: len(sink.received) == 3)
    await asyncio.sleep(0.5)
    assert len(sink.received) == 3, "never past SES's Max24HourSend"
    views = [
        await quick_stub.GetDispatch(
            dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=r.dispatch_id), metadata=METADATA
        )
        for r in answer.results
    ]
    held = [v for v in views if v.status != dispatch_pb2.DISPATCHED]
    assert len(held) == 2
    assert all("daily sending quota" in v.waiting_reason and "Max24HourSend" in v.waiting_reason for v in held)

    await observe(store, max_send_rate=1000.0, max_24_hour_send=100)  # AWS raised the quota
    for view in held:
        await wait_for_status(quick_stub, view.dispatch_id, dispatch_pb2.DISPATCHED)
    assert len(sink.received) == 5
