"""SIGTERM (a rolling deploy, a scale-down) lets the sends in flight finish, puts back at once what
cannot finish within the shutdown grace, and lets a send already past DATA finish beyond it."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import replace

import grpc

from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from services.dispatch.sending import SendTimings
from tests.integration.dispatch.dispatch_support import (
    METADATA,
    assert_one_outcome_each,
    dispatch_events,
    email,
    save_provider,
)

EMAILS = 6
# A lease far longer than the test: mail that waited for it to lapse would fail the test.
LONG_LEASE = SendTimings(ack_wait=120.0, backoff_base=0.02, backoff_cap=0.2, paused_recheck=0.3)


async def start_dispatch(settings):
    return await start_service("dispatch", settings, functools.partial(dispatch_main.build, timings=LONG_LEASE))


async def queue_emails(service) -> set[str]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        answer = await dispatch_pb2_grpc.DispatchServiceStub(channel).SendEmailBatch(
            dispatch_pb2.SendEmailBatchRequest(messages=[email(to=f"user{i}@example.org") for i in range(EMAILS)]),
            metadata=METADATA,
        )
    return {result.dispatch_id for result in answer.results}


async def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_a_graceful_stop_lets_the_sends_in_flight_finish(store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    sink.handler.data_delay = 1.0  # every DATA takes SES a second to answer
    service = await start_dispatch(replace(dispatch_settings, shutdown_grace=15.0))
    ids = await queue_emails(service)
    await wait_for(lambda: sink.handler.data_started >= 4)  # max_connections sends under way

    await service.stop()

    assert_one_outcome_each(await dispatch_events(store), ids)
    assert len(sink.received) == EMAILS, "each email sent once, none cut off and sent again"


async def test_sends_past_data_finish_after_the_grace_and_the_rest_is_put_back_at_once(store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    sink.handler.data_delay = 3.0  # SES has the messages, and answers after the grace is over
    first = await start_dispatch(replace(dispatch_settings, shutdown_grace=0.5))
    ids = await queue_emails(first)
    await wait_for(lambda: sink.handler.data_started >= 4)  # max_connections sends past DATA
    await first.stop()
    assert len(sink.received) == 4, "the sends past DATA were let finish, not cut off"
    recorded = {event.aggregate_id for event in await dispatch_events(store) if event.type == "EmailDispatched"}
    assert recorded == {m.dispatch_id for m in sink.received}, "...and their outcomes recorded"

    sink.handler.data_delay = 0.0
    second = await start_dispatch(dispatch_settings)
    try:
        # Well inside the 120 s lease: the first replica put back the mail it had not begun to send.
        await wait_for(lambda: len(sink.received) >= EMAILS)
        await wait_for(lambda: second.components.projections[0].caught_up.is_set())
        await asyncio.sleep(0.5)
    finally:
        await second.stop()
    assert_one_outcome_each(await dispatch_events(store), ids)
    assert len(sink.received) == EMAILS, "no email sent twice"
