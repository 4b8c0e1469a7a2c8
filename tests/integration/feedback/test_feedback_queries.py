"""FeedbackService gRPC: recipient status, the feedback list, provider stats; and replay equality."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from prometheus_client import REGISTRY

from services.core.events import new_event
from services.core.generated.postroom.v1 import events_pb2, feedback_pb2, feedback_pb2_grpc
from services.feedback.application import publish_reputation_rates
from services.feedback.projection import FeedbackReadModel
from tests.conftest import TEST_TOKEN
from tests.integration.feedback.conftest import FeedbackHarness
from tests.support import ses_feedback_messages as ses
from tests.support.read_models import dump_from_scratch, dump_runner, runner_of
from tests.support.sns_signing import notification

METADATA = (("authorization", f"Bearer {TEST_TOKEN}"),)


@pytest.fixture
async def stub(pinned_feedback: FeedbackHarness) -> AsyncIterator[feedback_pb2_grpc.FeedbackServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{pinned_feedback.service.grpc_port}") as channel:
        yield feedback_pb2_grpc.FeedbackServiceStub(channel)


async def dispatched(harness: FeedbackHarness, recipients: int, n: int) -> None:
    for index in range(n):
        payload = events_pb2.EmailDispatched(
            dispatch_id=f"d{index}",
            provider_id=harness.provider_id,
            ses_message_id=f"ses-{index}",
            recipient_hashes=[f"h{r}" for r in range(recipients)],
        )
        await harness.service.store.append(
            new_event(payload, account_id=harness.account_id, aggregate_type="dispatch", aggregate_id=f"d{index}")
        )


async def test_provider_stats_count_per_recipient_and_flag_the_review_lines(
    pinned_feedback: FeedbackHarness, stub
) -> None:
    harness = pinned_feedback
    await harness.save_provider()
    await dispatched(harness, recipients=2, n=50)  # 100 recipients
    for n in range(6):
        assert (await harness.post_signed(notification(ses.bounce([f"hard{n}@example.com"]))))[0] == 200
    assert (await harness.post_signed(notification(ses.bounce(["soft@example.com"], bounce_type="Transient"))))[
        0
    ] == 200
    assert (await harness.post_signed(notification(ses.complaint(["c@example.com"]))))[0] == 200
    assert (await harness.post_signed(notification(ses.delivery([f"d{n}@example.com" for n in range(3)]))))[0] == 200
    await harness.settle()

    stats = await stub.GetProviderStats(
        feedback_pb2.GetProviderStatsRequest(account_id="acct-1", provider_id=harness.provider_id), metadata=METADATA
    )

    assert (stats.sent, stats.delivered, stats.bounced, stats.soft_bounced, stats.complained) == (100, 3, 6, 1, 1)
    assert (stats.bounce_rate, stats.complaint_rate, stats.window_days) == (0.06, 0.01, 30)
    assert stats.bounce_rate_over_review_line and stats.complaint_rate_over_review_line

    await publish_reputation_rates(FeedbackReadModel(runner_of(harness.service).engine), datetime.now(timezone.utc))
    labels = {"account_id": "acct-1", "provider_id": harness.provider_id}
    assert REGISTRY.get_sample_value("postroom_feedback_bounce_rate", labels) == 0.06
    assert REGISTRY.get_sample_value("postroom_feedback_complaint_rate", labels) == 0.01


async def test_list_feedback_filters_and_pages_newest_first(pinned_feedback: FeedbackHarness, stub) -> None:
    harness = pinned_feedback
    await harness.save_provider()
    for n in range(5):
        assert (await harness.post_signed(notification(ses.bounce([f"r{n}@example.com"]))))[0] == 200
    assert (await harness.post_signed(notification(ses.delivery(["r0@example.com"]))))[0] == 200
    await harness.settle()

    request = feedback_pb2.ListFeedbackRequest(account_id="acct-1", kind="bounce", page_size=2)
    pages = []
    while True:
        page = await stub.ListFeedback(request, metadata=METADATA)
        pages.append([r.recipient for r in page.records])
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    by_email = await stub.ListFeedback(
        feedback_pb2.ListFeedbackRequest(account_id="acct-1", email="R0@example.com"), metadata=METADATA
    )

    assert [r for page in pages for r in page] == [f"r{n}@example.com" for n in reversed(range(5))]
    assert [r.kind for r in by_email.records] == ["delivery", "bounce"]


async def test_soft_bounces_reach_the_threshold(pinned_feedback: FeedbackHarness, stub) -> None:
    harness = pinned_feedback
    await harness.save_provider()
    for _ in range(3):  # the default POSTROOM_SOFT_BOUNCE_THRESHOLD
        message = notification(ses.bounce(["full@example.com"], bounce_type="Transient", subtype="MailboxFull"))
        assert (await harness.post_signed(message))[0] == 200
    await harness.settle()

    status = await stub.GetRecipientStatus(
        feedback_pb2.GetRecipientStatusRequest(account_id="acct-1", email="full@example.com"), metadata=METADATA
    )

    assert (status.suppressed, status.suppression_reason, status.soft_bounces) == (True, "soft_bounces", 3)


@pytest.mark.parametrize(
    "call, request_message, field",
    [
        (
            "GetRecipientStatus",
            feedback_pb2.GetRecipientStatusRequest(account_id="acct-1", email="not an address"),
            "email",
        ),
        (
            "GetRecipientStatus",
            feedback_pb2.GetRecipientStatusRequest(account_id="a b", email="a@example.com"),
            "account_id",
        ),
        ("ListFeedback", feedback_pb2.ListFeedbackRequest(account_id="acct-1", kind="opens"), "kind"),
        ("ListFeedback", feedback_pb2.ListFeedbackRequest(account_id="acct-1", page_token="x"), "page_token"),
        ("GetProviderStats", feedback_pb2.GetProviderStatsRequest(account_id="acct-1"), "provider_id"),
        (
            "GetProviderStats",
            feedback_pb2.GetProviderStatsRequest(account_id="acct-1", provider_id="p", window_days=9999),
            "window_days",
        ),
    ],
)
async def test_bad_queries_name_the_field(stub, call: str, request_message, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, call)(request_message, metadata=METADATA)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(caught.value)
    bad_request = error_details_pb2.BadRequest()
    status.details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == [field]


async def test_stats_for_an_unknown_provider_is_not_found(stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetProviderStats(
            feedback_pb2.GetProviderStatsRequest(account_id="acct-1", provider_id="nope"), metadata=METADATA
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_replay_rebuilds_the_read_model_row_for_row(pinned_feedback: FeedbackHarness) -> None:
    harness = pinned_feedback
    await harness.save_provider()
    await dispatched(harness, recipients=1, n=3)
    for builder in (ses.bounce, ses.complaint, ses.delivery):
        assert (await harness.post_signed(notification(builder(["x@example.com", "y@example.com"]))))[0] == 200
    await harness.settle()

    runner = runner_of(harness.service)
    assert await dump_from_scratch(runner) == await dump_runner(runner)


async def test_a_retry_recorded_after_the_duplicate_window_counts_once(pinned_feedback: FeedbackHarness, stub) -> None:
    harness = pinned_feedback
    await harness.save_provider()
    assert (await harness.post_signed(notification(ses.bounce(["twice@example.com"]))))[0] == 200
    [first] = await harness.events("BounceReceived")
    # What a retry appended after JetStream forgot the first Nats-Msg-Id looks like in the log.
    again = new_event(
        first.bounce_received, account_id="acct-1", aggregate_type="feedback", aggregate_id=first.aggregate_id
    )
    await harness.service.store.append(again)
    await harness.settle()

    listed = await stub.ListFeedback(feedback_pb2.ListFeedbackRequest(account_id="acct-1"), metadata=METADATA)
    stats = await stub.GetProviderStats(
        feedback_pb2.GetProviderStatsRequest(account_id="acct-1", provider_id=harness.provider_id), metadata=METADATA
    )

    assert len(listed.records) == 1 and stats.bounced == 1
