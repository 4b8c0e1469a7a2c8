"""SES's failure answers: throttling, 421, 5xx, bad credentials, and unsafe input."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.core.generated.postroom.v1 import dispatch_pb2, events_pb2
from services.dispatch.metrics import PROVIDER_PAUSED
from tests.integration.dispatch.dispatch_support import METADATA, PROVIDER, email, save_provider, wait_for_status

THROTTLED = "454 Throttling failure: Maximum sending rate exceeded."


async def send_many(stub, count: int, **fields) -> list[str]:
    answer = await stub.SendEmailBatch(
        dispatch_pb2.SendEmailBatchRequest(messages=[email(to=f"user{i}@example.org", **fields) for i in range(count)]),
        metadata=METADATA,
    )
    assert all(r.error_code == 0 for r in answer.results)
    return [r.dispatch_id for r in answer.results]


async def test_throttling_is_retried_until_everything_is_delivered(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    sink.script(*[THROTTLED] * 6, "421 Maximum message count per session exceeded", "451 Temporary service failure")
    ids = await send_many(stub, 20)
    dispatches = [await wait_for_status(stub, i, dispatch_pb2.DISPATCHED) for i in ids]
    assert all(d.status == dispatch_pb2.DISPATCHED for d in dispatches)
    assert sum(d.attempts for d in dispatches) > len(ids), "some needed more than one attempt"
    assert sorted(m.recipients[0] for m in sink.received) == sorted(f"user{i}@example.org" for i in range(20))


async def test_a_5xx_answer_is_not_retried(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    sink.script(
        "554 Message rejected: Email address is not verified. The following identities failed the check "
        "in region US-EAST-1: bob@example.org"
    )
    accepted = await stub.SendEmail(email(), metadata=METADATA)
    failed = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.FAILED)
    assert failed.status == dispatch_pb2.FAILED and failed.attempts == 1
    assert failed.last_smtp_reply.startswith("554 Message rejected")
    assert "Verified identities" in failed.hint and "production access" in failed.hint
    later = await stub.SendEmail(email(), metadata=METADATA)
    await wait_for_status(stub, later.dispatch_id, dispatch_pb2.DISPATCHED)
    assert len(sink.received) == 1 and sink.handler.scripted_replies == type(sink.handler.scripted_replies)()


async def test_a_refused_recipient_leaves_the_others_to_be_delivered(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    sink.handler.refused_recipients["gone@example.org"] = "550 Mailbox unavailable"
    both = [events_pb2.EmailAddress(address="gone@example.org"), events_pb2.EmailAddress(address="bob@example.org")]
    accepted = await stub.SendEmail(email(to=both), metadata=METADATA)
    dispatched = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
    assert dispatched.status == dispatch_pb2.DISPATCHED
    assert [m.recipients for m in sink.received] == [["bob@example.org"]]


async def test_an_email_whose_every_recipient_is_refused_fails_with_that_reply(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    sink.handler.refused_recipients["gone@example.org"] = "550 Mailbox unavailable"
    accepted = await stub.SendEmail(email(to="gone@example.org"), metadata=METADATA)
    failed = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.FAILED)
    assert (failed.status, failed.attempts) == (dispatch_pb2.FAILED, 1)
    assert failed.last_smtp_reply.startswith("550 Mailbox unavailable")
    later = await stub.SendEmail(email(), metadata=METADATA)  # the session was reset: the next one goes
    await wait_for_status(stub, later.dispatch_id, dispatch_pb2.DISPATCHED)
    assert [m.recipients for m in sink.received] == [["bob@example.org"]]


async def test_retries_stop_at_the_configured_number_of_attempts(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    sink.script(*[THROTTLED] * dispatch_settings.dispatch_max_attempts)
    accepted = await stub.SendEmail(email(), metadata=METADATA)
    failed = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.FAILED)
    assert failed.attempts == dispatch_settings.dispatch_max_attempts
    assert failed.last_smtp_reply.startswith("454") and "sending quota" in failed.hint
    assert not sink.received


async def test_failed_logins_pause_the_provider_until_it_is_saved_again(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink, password="an-AWS-secret-key-not-SMTP")
    ids = await send_many(stub, 5)
    # This test's own ProviderPaused event, not the gauge: other tests' providers share its label.
    last_pause = await wait_for_event(store, "provider_health", PROVIDER)
    assert last_pause.type == "ProviderPaused"
    assert PROVIDER_PAUSED.labels(PROVIDER)._value.get() == 1
    paused = await wait_for_status(stub, ids[0], dispatch_pb2.QUEUED)
    assert paused.status == dispatch_pb2.QUEUED
    assert "Invalid Credentials" in paused.provider_paused_reason
    assert "Saving the provider again" in paused.provider_paused_reason
    # Logins already under way when the pause came may still end; no new one may start after.
    attempts_when_paused = await settled(lambda: sink.handler.auth_attempts)
    assert attempts_when_paused >= dispatch_settings.pause_after_failures
    await asyncio.sleep(1.0)
    assert sink.handler.auth_attempts == attempts_when_paused, "a paused provider is left alone"
    await save_provider(store, dispatch_settings, sink)
    for dispatch_id in ids:
        assert (await wait_for_status(stub, dispatch_id, dispatch_pb2.DISPATCHED)).status == dispatch_pb2.DISPATCHED
    assert len(sink.received) == 5
    assert PROVIDER_PAUSED.labels(PROVIDER)._value.get() == 0


async def wait_for_event(store, aggregate_type: str, aggregate_id: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while (last := await store.last_event(aggregate_type, aggregate_id)) is None:
        assert time.monotonic() < deadline, f"no {aggregate_type} event for {aggregate_id}"
        await asyncio.sleep(0.05)
    return last


async def settled(read, quiet: float = 0.5, timeout: float = 10.0):
    """The value once it has stopped changing for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    value = read()
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet)
        if read() == value:
            return value
        value = read()
    raise AssertionError(f"still changing after {timeout} s: {value}")


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    bad = error_details_pb2.BadRequest()
    status.details[0].Unpack(bad)
    return {v.field: v.description for v in bad.field_violations}


@pytest.mark.parametrize(
    "fields, field_name",
    [
        ({"subject": "Hi\r\nBcc: victim@example.org"}, "subject"),
        ({"to": [events_pb2.EmailAddress(address="bob@example.org\r\nBcc: x@example.org")]}, "to[0].address"),
        ({"to": [events_pb2.EmailAddress(address="bob@example.org", name="Bob\nBcc: x@example.org")]}, "to[0].name"),
        ({"headers": {"X-Campaign": "spring\r\nBcc: x@example.org"}}, "headers[X-Campaign]"),
        ({"reply_to": events_pb2.EmailAddress(address="r@example.org\n")}, "reply_to.address"),
    ],
)
async def test_a_line_break_in_a_header_is_refused(stub, store, dispatch_settings, sink, fields, field_name):
    await save_provider(store, dispatch_settings, sink)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.SendEmail(email(**fields), metadata=METADATA)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_name in violations(refused.value)
    assert not sink.received


async def test_more_than_50_recipients_or_a_message_over_the_size_limit_is_refused(
    stub, store, dispatch_settings, sink
):
    await save_provider(store, dispatch_settings, sink, max_message_bytes=20_000)
    many = [events_pb2.EmailAddress(address=f"u{i}@example.org") for i in range(51)]
    with pytest.raises(grpc.aio.AioRpcError) as too_many:
        await stub.SendEmail(email(to=many), metadata=METADATA)
    assert "to" in violations(too_many.value)
    with pytest.raises(grpc.aio.AioRpcError) as too_big:
        await stub.SendEmail(email(text_body="x" * 30_000), metadata=METADATA)
    assert too_big.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "20000" in violations(too_big.value)["text_body"]
    assert not sink.received
