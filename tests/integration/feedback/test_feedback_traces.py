"""With tracing on, an SNS notification about a dispatch links its span to the dispatch's trace."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.core import tracing
from services.core.events import new_event
from services.core.generated.postroom.v1 import events_pb2
from tests.integration.feedback.conftest import FeedbackHarness
from tests.support import ses_feedback_messages as ses
from tests.support.otlp_receiver import OtlpTraceReceiver
from tests.support.sns_signing import notification


@pytest.fixture
async def receiver():
    started = await OtlpTraceReceiver().start()
    tracing.configure(started.endpoint, "feedback")  # this process: the in-process service
    yield started
    await asyncio.to_thread(tracing.shutdown)
    await started.stop()


async def sent_in_a_trace(harness: FeedbackHarness, dispatch_id: str, ses_message_id: str) -> bytes:
    """EmailDispatched recorded inside a span, as a traced dispatch process records it; its trace id."""
    with tracing.span("dispatch-workers EmailQueued"):
        trace_id = bytes.fromhex(tracing.current_trace_parent().split("-")[1])
        sent = events_pb2.EmailDispatched(
            dispatch_id=dispatch_id, provider_id=harness.provider_id, ses_message_id=ses_message_id, recipient_hashes=[]
        )
        event = new_event(sent, account_id=harness.account_id, aggregate_type="dispatch", aggregate_id=dispatch_id)
        appended = await harness.service.store.append(event)
    await harness.settle(appended.stream_seq)
    return trace_id


async def test_a_bounce_links_to_the_trace_its_dispatch_was_sent_in(receiver, feedback: FeedbackHarness):
    await feedback.save_provider()
    dispatch_id, ses_message_id = str(uuid.uuid4()), f"0100{uuid.uuid4().hex}-000000"
    dispatch_trace = await sent_in_a_trace(feedback, dispatch_id, ses_message_id)
    status, _ = await feedback.post_signed(
        notification(ses.bounce(["gone@example.com"], dispatch_id=dispatch_id, ses_message_id=ses_message_id))
    )
    assert status == 200
    await asyncio.to_thread(tracing.flush)
    for _ in range(100):
        posts = receiver.named("POST /sns/{account_id}/{provider_id}")
        if posts:
            break
        await asyncio.sleep(0.05)
    (post,) = posts
    assert post.trace_id != dispatch_trace, "the SNS delivery is a trace of its own..."
    assert [link.trace_id for link in post.links] == [dispatch_trace], "...linked to the dispatch's"
    assert receiver.named("append BounceReceived")[0].trace_id == post.trace_id
