"""The crash window: SES took an email, its sender died before the outcome event was durable, and
SES's feedback for it arrived before the email was delivered to a worker again.

The feedback names the dispatch (its X-Postroom-Dispatch-Id header or message tag), which proves
SES accepted the message: the redelivered email must end DISPATCHED with SES's message id, not be
sent a second time and not be called SUPPRESSED by the bounce it caused.
"""

from __future__ import annotations

import functools

import grpc
import pytest

from services.core.event_store import NEW_AGGREGATE
from services.core.events import new_event
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.ids import recipient_hash, uuid7
from services.core.runtime import start_service
from services.dispatch import events, main as dispatch_main
from services.dispatch.domain import EmailRequest, Mailbox
from tests.integration.dispatch.dispatch_support import ACCOUNT, FAST, PROVIDER, save_provider, wait_for_status

SES_MESSAGE_ID = "010001900000abcd-1111-2222-3333-444455556666-000000"


def feedback_naming(dispatch_id: str, address: str, kind: str) -> events_pb2.Event:
    common = dict(
        provider_id=PROVIDER,
        recipient_hash=recipient_hash(address),
        recipient=address,
        ses_message_id=SES_MESSAGE_ID,
        dispatch_id=dispatch_id,
    )
    payload = {
        "bounce": lambda: events_pb2.BounceReceived(bounce_type="Permanent", **common),
        "complaint": lambda: events_pb2.ComplaintReceived(feedback_type="abuse", **common),
        "delivery": lambda: events_pb2.DeliveryReceived(smtp_response="250 ok", **common),
    }[kind]()
    return new_event(payload, account_id=ACCOUNT, aggregate_type="recipient", aggregate_id=recipient_hash(address))


async def queue_directly(store, address: str) -> str:
    """EmailQueued as the API appends it, with no dispatch service running to take it."""
    dispatch_id = str(uuid7())
    request = EmailRequest(
        account_id=ACCOUNT, provider_id=PROVIDER, to=(Mailbox(address),), subject="Hello", text_body="Hi"
    )
    await store.append(events.queued_event(request, dispatch_id), expected_sequence=NEW_AGGREGATE)
    return dispatch_id


@pytest.mark.parametrize("kind", ["bounce", "complaint", "delivery"])
async def test_feedback_that_names_a_queued_email_means_it_was_sent(kind, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    answered = await queue_directly(store, "bob@example.org")
    await store.append(feedback_naming(answered, "bob@example.org", kind))
    unanswered = await queue_directly(store, "carol@example.org")  # no feedback: sent as usual

    service = await start_service("dispatch", dispatch_settings, functools.partial(dispatch_main.build, timings=FAST))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            recovered = await wait_for_status(stub, answered, dispatch_pb2.DISPATCHED)
            sent = await wait_for_status(stub, unanswered, dispatch_pb2.DISPATCHED)
    finally:
        await service.stop()

    assert recovered.status == dispatch_pb2.DISPATCHED, recovered
    assert recovered.ses_message_id == SES_MESSAGE_ID
    assert f"SES's {kind} notification" in recovered.last_smtp_reply
    assert sent.status == dispatch_pb2.DISPATCHED and sent.ses_message_id
    assert [m.recipients for m in sink.received] == [["carol@example.org"]]
