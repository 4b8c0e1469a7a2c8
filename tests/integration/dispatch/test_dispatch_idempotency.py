"""Idempotency through the per-aggregate expected sequence, and never two outcomes."""

from __future__ import annotations

import asyncio
import functools

import grpc

from services.core.events import new_event
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from services.dispatch import events
from services.dispatch.domain import EmailRequest, Mailbox, dispatch_id_for
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
from tests.support.read_models import dump_from_scratch, dump_runner, runner_of


async def test_the_same_idempotency_key_gives_the_same_dispatch_and_sends_once(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    answers = await asyncio.gather(
        *(stub.SendEmail(email(idempotency_key="order-42"), metadata=METADATA) for _ in range(10))
    )
    assert len({a.dispatch_id for a in answers}) == 1
    await wait_for_status(stub, answers[0].dispatch_id, dispatch_pb2.DISPATCHED)
    again = await stub.SendEmail(email(idempotency_key="order-42"), metadata=METADATA)
    assert again.dispatch_id == answers[0].dispatch_id and again.status == dispatch_pb2.DISPATCHED
    other_account = await stub.SendEmail(email(idempotency_key="order-43"), metadata=METADATA)
    assert other_account.dispatch_id != answers[0].dispatch_id
    await wait_for_status(stub, other_account.dispatch_id, dispatch_pb2.DISPATCHED)
    assert len(sink.received) == 2


async def test_a_queued_email_whose_outcome_exists_is_not_sent_again(store, dispatch_settings, sink):
    """A backlog replayed to a consumer created anew (or a redelivery after a crash between the
    outcome append and the ack) holds emails whose outcome is already in the log."""
    await save_provider(store, dispatch_settings, sink)
    request = EmailRequest(ACCOUNT, PROVIDER, to=(Mailbox("bob@example.org"),), subject="s", text_body="b")
    dispatch_id = dispatch_id_for(ACCOUNT, "already-sent")
    queued_at = await store.append(events.queued_event(request, dispatch_id), expected_sequence=0)
    outcome = new_event(
        events_pb2.EmailDispatched(
            dispatch_id=dispatch_id, provider_id=PROVIDER, ses_message_id="x", attempts=1, smtp_reply="250 Ok x"
        ),
        account_id=ACCOUNT,
        aggregate_type="dispatch",
        aggregate_id=dispatch_id,
    )
    await store.append(outcome, expected_sequence=queued_at.stream_seq)
    service = await start_service("dispatch", dispatch_settings, functools.partial(dispatch_main.build, timings=FAST))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            fresh = await stub.SendEmail(email(), metadata=METADATA)
            await wait_for_status(stub, fresh.dispatch_id, dispatch_pb2.DISPATCHED)
            assert (await wait_for_status(stub, dispatch_id, dispatch_pb2.DISPATCHED)).ses_message_id == "x"
    finally:
        await service.stop()
    assert [m.parsed()["X-Postroom-Dispatch-Id"] for m in sink.received] == [fresh.dispatch_id]


async def test_replay_rebuilds_the_read_model_row_for_row(stub, store, dispatch_settings, sink, service):
    await save_provider(store, dispatch_settings, sink)
    answer = await stub.SendEmailBatch(
        dispatch_pb2.SendEmailBatchRequest(messages=[email(to=f"u{i}@example.org") for i in range(20)]),
        metadata=METADATA,
    )
    for result in answer.results:
        await wait_for_status(stub, result.dispatch_id, dispatch_pb2.DISPATCHED)
    assert await wait_until(lambda: len(sink.received) == 20)
    runner = runner_of(service)
    assert await dump_from_scratch(runner) == await dump_runner(runner)


async def test_while_the_log_is_away_send_email_is_unavailable_and_a_retry_with_the_key_queues_it_once(
    stub, store, dispatch_settings, sink, service
):
    await save_provider(store, dispatch_settings, sink)
    await asyncio.sleep(0.2)
    await store.js.delete_stream(store.stream)  # the log is away
    try:
        await stub.SendEmail(email(idempotency_key="order-77"), metadata=METADATA)
        raise AssertionError("accepted without a durable EmailQueued")
    except grpc.aio.AioRpcError as error:
        assert error.code() is grpc.StatusCode.UNAVAILABLE
        assert "same idempotency_key" in error.details() and "not known" in error.details()
    await store.ensure_stream()  # back, empty: save the provider again
    await save_provider(store, dispatch_settings, sink)
    first = await stub.SendEmail(email(idempotency_key="order-77"), metadata=METADATA)
    again = await stub.SendEmail(email(idempotency_key="order-77"), metadata=METADATA)
    assert first.dispatch_id == again.dispatch_id == dispatch_id_for(ACCOUNT, "order-77")
    await wait_for_status(stub, first.dispatch_id, dispatch_pb2.DISPATCHED)
    assert len(sink.received) == 1
