"""The SNS endpoint end to end: a real service, real NATS, SNS messages signed like Amazon's."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from services.core.generated.postroom.v1 import feedback_pb2, feedback_pb2_grpc
from services.core.ids import recipient_hash
from tests.conftest import TEST_TOKEN
from tests.integration.feedback.conftest import FeedbackHarness
from tests.support import ses_feedback_messages as ses
from tests.support.sns_signing import DEFAULT_TOPIC_ARN, http_headers, notification

SES_EXAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "conformance" / "ses"
METADATA = (("authorization", f"Bearer {TEST_TOKEN}"),)


def feedback_stub(harness: FeedbackHarness) -> tuple[grpc.aio.Channel, feedback_pb2_grpc.FeedbackServiceStub]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{harness.service.grpc_port}")
    return channel, feedback_pb2_grpc.FeedbackServiceStub(channel)


@pytest.mark.parametrize("version", ["1", "2"])
async def test_permanent_bounce_is_recorded_durably_and_suppresses(feedback: FeedbackHarness, version: str) -> None:
    await feedback.save_provider()
    message = notification(ses.bounce(["Jane@Example.com"], dispatch_id="dispatch-42", ses_message_id="ses-1"))

    assert await feedback.post_signed(message, version) == (200, "recorded 1 event(s)\n")

    [event] = await feedback.events("BounceReceived")
    bounce = event.bounce_received
    assert (event.account_id, event.aggregate_type, event.aggregate_id) == (
        "acct-1",
        "feedback",
        recipient_hash("jane@example.com"),
    )
    assert (bounce.recipient, bounce.bounce_type, bounce.bounce_subtype, bounce.status) == (
        "Jane@example.com",
        "Permanent",
        "General",
        "5.1.1",
    )
    assert (bounce.dispatch_id, bounce.ses_message_id, bounce.provider_id, bounce.sns_message_id) == (
        "dispatch-42",
        "ses-1",
        feedback.provider_id,
        message["MessageId"],
    )
    await feedback.settle()
    channel, stub = feedback_stub(feedback)
    async with channel:
        status = await stub.GetRecipientStatus(
            feedback_pb2.GetRecipientStatusRequest(account_id="acct-1", email="jane@EXAMPLE.com"), metadata=METADATA
        )
    assert (status.suppressed, status.suppression_reason) == (True, "hard_bounce")
    assert [(r.kind, r.bounce_type, r.dispatch_id) for r in status.recent] == [("bounce", "Permanent", "dispatch-42")]


async def test_the_same_notification_delivered_three_times_is_one_event(feedback: FeedbackHarness) -> None:
    await feedback.save_provider()
    signed = feedback.identity.sign(notification(ses.delivery(["a@example.com"])))

    first, second = await feedback.post(signed), await feedback.post(signed)
    await feedback.settle()
    third = await feedback.post(signed)

    assert [first[0], second[0], third[0]] == [200, 200, 200]
    assert third[1] == "already recorded\n"  # the read model's table: works after JetStream's 2-minute window
    assert len(await feedback.events("DeliveryReceived")) == 1


async def test_bounce_without_a_dispatch_header_is_correlated_through_email_dispatched(
    feedback: FeedbackHarness,
) -> None:
    from services.core.events import new_event
    from services.core.generated.postroom.v1 import events_pb2

    await feedback.save_provider()
    dispatched = events_pb2.EmailDispatched(
        dispatch_id="d-7", provider_id=feedback.provider_id, ses_message_id="ses-77", recipient_hashes=["h"]
    )
    await feedback.service.store.append(
        new_event(dispatched, account_id="acct-1", aggregate_type="dispatch", aggregate_id="d-7")
    )
    await feedback.settle()

    assert (await feedback.post_signed(notification(ses.complaint(["b@example.com"], ses_message_id="ses-77"))))[
        0
    ] == 200

    [event] = await feedback.events("ComplaintReceived")
    assert (event.complaint_received.dispatch_id, event.complaint_received.feedback_type) == ("d-7", "abuse")


@pytest.mark.parametrize("example", sorted(SES_EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
async def test_every_ses_shape_is_accepted(pinned_feedback: FeedbackHarness, example: Path) -> None:
    await pinned_feedback.save_provider()
    document = json.loads(example.read_text())
    kind = document.get("eventType") or document.get("notificationType")
    recipients = {
        "Bounce": ("bounce", "bouncedRecipients"),
        "Complaint": ("complaint", "complainedRecipients"),
        "Delivery": ("delivery", "recipients"),
    }

    status, _ = await pinned_feedback.post_signed(notification(example.read_text()), "2")

    assert status == 200
    expected = len(document[recipients[kind][0]][recipients[kind][1]]) if kind in recipients else 0
    assert len(await pinned_feedback.events("BounceReceived", "ComplaintReceived", "DeliveryReceived")) == expected
    assert pinned_feedback.sns.requests == 0  # pinned certificates: nothing is fetched


async def test_unknown_provider_and_another_accounts_provider_are_404(feedback: FeedbackHarness) -> None:
    await feedback.save_provider(account_id="someone-else")
    signed = feedback.identity.sign(notification(ses.bounce(["a@example.com"])))

    assert (await feedback.post(signed))[0] == 404
    assert (await feedback.post(signed, url=feedback.url.replace(feedback.provider_id, "nope")))[0] == 404
    assert (await feedback.post(signed, url=feedback.url + "/extra"))[0] == 404
    assert feedback.sns.requests == 0


async def test_notification_from_another_topic_is_refused(feedback: FeedbackHarness) -> None:
    await feedback.save_provider(topics=("arn:aws:sns:us-east-1:123456789012:mine",))

    status, reason = await feedback.post_signed(notification(ses.bounce(["a@example.com"])))

    assert status == 403 and "not one of this provider's SNS topics" in reason
    assert await feedback.events("BounceReceived") == []


async def test_certificate_host_failing_answers_503_so_sns_retries(feedback: FeedbackHarness) -> None:
    await feedback.save_provider()
    feedback.sns.certificate_status = 503

    assert (await feedback.post_signed(notification(ses.bounce(["a@example.com"]))))[0] == 503
    feedback.sns.certificate_status = 200
    assert (await feedback.post_signed(notification(ses.bounce(["a@example.com"]))))[0] == 200


async def test_nats_down_answers_503_and_never_200(feedback: FeedbackHarness) -> None:
    await feedback.save_provider()
    await feedback.service.store.nc.close()

    status, reason = await feedback.post_signed(notification(ses.bounce(["a@example.com"])))

    assert status == 503, reason


async def test_subscription_to_an_allowed_topic_is_confirmed_once(feedback: FeedbackHarness) -> None:
    from tests.support.sns_signing import subscription_confirmation

    await feedback.save_provider()
    signed = feedback.identity.sign(subscription_confirmation(token="tok" * 20), "2")

    assert await feedback.post(signed) == (200, "subscription confirmed\n")
    await feedback.settle()
    assert (await feedback.post(signed))[0] == 200

    assert [c["Token"] for c in feedback.sns.confirmations] == ["tok" * 20]
    [event] = await feedback.events("SnsSubscriptionConfirmed")
    assert event.sns_subscription_confirmed.topic_arn == DEFAULT_TOPIC_ARN


async def test_an_unreachable_subscribe_url_is_a_5xx_and_a_later_delivery_confirms(
    pinned_feedback: FeedbackHarness,
) -> None:
    """Our resolver failing is our side of the network: SNS must retry, not drop the confirmation."""
    from tests.support.sns_signing import subscription_confirmation

    feedback = pinned_feedback
    await feedback.save_provider()
    signed = feedback.identity.sign(subscription_confirmation(token="dns" * 20))
    feedback.sns.failing_lookups[0] = 1
    status, reason = await feedback.post(signed)
    assert status == 503, reason
    assert "retry" in reason and await feedback.events("SnsSubscriptionConfirmed") == []

    assert await feedback.post(signed) == (200, "subscription confirmed\n")  # SNS delivers it again
    assert [c["Token"] for c in feedback.sns.confirmations] == ["dns" * 20]


async def test_subscription_sns_refuses_is_not_recorded(feedback: FeedbackHarness) -> None:
    from tests.support.sns_signing import subscription_confirmation

    await feedback.save_provider()
    feedback.sns.confirm_status = 500
    assert (await feedback.post_signed(subscription_confirmation()))[0] == 503
    feedback.sns.confirm_status = 403
    assert (await feedback.post_signed(subscription_confirmation()))[0] == 403
    assert await feedback.events("SnsSubscriptionConfirmed") == []


async def test_first_topic_mode_records_exactly_one_topic(feedback: FeedbackHarness) -> None:
    import asyncio

    from tests.support.sns_signing import subscription_confirmation

    await feedback.save_provider(topics=(), allow_first=True)
    topics = [f"arn:aws:sns:us-east-1:123456789012:topic-{n}" for n in range(4)]
    racing = [feedback.identity.sign(subscription_confirmation(topic_arn=arn)) for arn in topics]

    statuses = await asyncio.gather(*(feedback.post(message) for message in racing))

    assert sorted(status for status, _ in statuses) == [200, 403, 403, 403]
    [allowed] = await feedback.events("ProviderTopicAllowed")
    winner = allowed.provider_topic_allowed.topic_arn
    assert [c["TopicArn"] for c in feedback.sns.confirmations] == [winner]
    assert (await feedback.post_signed(notification(ses.bounce(["a@example.com"]), topic_arn=winner)))[0] == 200
    loser = next(arn for arn in topics if arn != winner)
    assert (await feedback.post_signed(notification(ses.bounce(["a@example.com"]), topic_arn=loser)))[0] == 403


async def test_unsubscribe_confirmation_is_recorded_and_never_followed(feedback: FeedbackHarness) -> None:
    from tests.support.sns_signing import subscription_confirmation

    await feedback.save_provider()
    hits_before = sum(feedback.sns.hits.values())

    status, reason = await feedback.post_signed(subscription_confirmation(unsubscribe=True))

    assert status == 200 and "not re-subscribed" in reason
    assert feedback.sns.confirmations == []
    assert sum(feedback.sns.hits.values()) - hits_before <= 1  # at most the signing certificate
    assert len(await feedback.events("SnsUnsubscribeReceived")) == 1


async def test_subscription_for_an_unknown_topic_is_never_visited(feedback: FeedbackHarness) -> None:
    from tests.support.sns_signing import subscription_confirmation

    await feedback.save_provider()
    other = subscription_confirmation(topic_arn="arn:aws:sns:us-east-1:999999999999:not-mine")

    assert (await feedback.post_signed(other))[0] == 403
    assert feedback.sns.confirmations == []


async def test_raw_message_delivery_is_refused_with_how_to_fix_it(feedback: FeedbackHarness) -> None:
    await feedback.save_provider()
    raw = ses.bounce(["a@example.com"]).encode()
    headers = {"x-amz-sns-rawdelivery": "true", "x-amz-sns-message-type": "Notification"}

    status, reason = await feedback.post(raw, headers=headers)

    assert status == 400 and "raw message delivery" in reason and "turn off" in reason


async def test_header_and_body_type_must_agree(feedback: FeedbackHarness) -> None:
    await feedback.save_provider()
    signed = feedback.identity.sign(notification(ses.bounce(["a@example.com"])))
    headers = dict(http_headers(signed), **{"x-amz-sns-message-type": "SubscriptionConfirmation"})

    assert (await feedback.post(signed, headers=headers))[0] == 400
