"""The SES Developer Guide's feedback examples parse into the values they show."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.feedback.ses_feedback import (
    Bounce,
    BounceType,
    Complaint,
    Delivery,
    EmailAddress,
    IgnoredFeedback,
    OtherFeedback,
    parse_ses_feedback,
)

EVENT_MESSAGE_ID = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
EVENT_FEEDBACK_ID = "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000"
MOZILLA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.90 Safari/537.36"
)


def address(text: str) -> EmailAddress:
    return EmailAddress(address=text, key=text)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Read off the example files by hand.
EXPECTED = {
    "identity-bounce-notification-with-a-dsn": [
        Bounce(
            recipient=address("jane@example.com"),
            bounce_type=BounceType.PERMANENT,
            bounce_subtype="General",
            status="5.1.1",
            diagnostic_code="smtp; 550 5.1.1 <jane@example.com>... User",
            action="failed",
            ses_message_id="00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
            feedback_id="00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
            timestamp=at("2016-01-27T14:59:38.237"),
            source="john@example.com",
            dispatch_id=None,
        )
    ],
    "identity-bounce-notification-without-a-dsn": [
        Bounce(
            recipient=address(recipient),
            bounce_type=BounceType.PERMANENT,
            bounce_subtype="General",
            status=None,
            diagnostic_code=None,
            action=None,
            ses_message_id="00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
            feedback_id="00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000",
            timestamp=at("2016-01-27T14:59:38.237"),
            source="john@example.com",
            dispatch_id=None,
        )
        for recipient in ("jane@example.com", "richard@example.com")
    ],
    "identity-complaint-notification-with-a-feedback-report": [
        Complaint(
            recipient=address("richard@example.com"),
            complaint_feedback_type="abuse",
            complaint_subtype=None,
            feedback_id="000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
            ses_message_id="000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
            timestamp=at("2016-01-27T14:59:38.237"),
            user_agent="AnyCompany Feedback Loop (V0.01)",
            source="john@example.com",
            dispatch_id=None,
        )
    ],
    "identity-complaint-notification-without-a-feedback-report": [
        Complaint(
            recipient=address("richard@example.com"),
            complaint_feedback_type=None,
            complaint_subtype=None,
            feedback_id="0000013786031775-fea503bc-7497-49e1-881b-a0379bb037d3-000000",
            ses_message_id="0000013786031775-163e3910-53eb-4c8e-a04a-f29debf88a84-000000",
            timestamp=at("2016-01-27T14:59:38.237"),
            user_agent=None,
            source="john@example.com",
            dispatch_id=None,
        )
    ],
    "identity-amazon-sns-delivery-notification-example": [
        Delivery(
            recipient=address("jane@example.com"),
            smtp_response="250 ok:  Message 64111812 accepted",
            processing_time_ms=546,
            reporting_mta="a8-70.smtp-out.amazonses.com",
            ses_message_id="0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000",
            timestamp=at("2016-01-27T14:59:38.237"),
            source="john@example.com",
            dispatch_id=None,
        )
    ],
    "event-bounce-record": [
        Bounce(
            recipient=address("recipient@example.com"),
            bounce_type=BounceType.PERMANENT,
            bounce_subtype="General",
            status="5.1.1",
            diagnostic_code="smtp; 550 5.1.1 user unknown",
            action="failed",
            ses_message_id=EVENT_MESSAGE_ID,
            feedback_id=EVENT_FEEDBACK_ID,
            timestamp=at("2017-08-05T00:41:02.669"),
            source="Sender Name <sender@example.com>",
            dispatch_id=None,
        )
    ],
    "event-complaint-record": [
        Complaint(
            recipient=address("recipient@example.com"),
            complaint_feedback_type="abuse",
            complaint_subtype=None,
            feedback_id=EVENT_FEEDBACK_ID,
            ses_message_id=EVENT_MESSAGE_ID,
            timestamp=at("2017-08-05T00:41:02.669"),
            user_agent=MOZILLA,
            source="Sender Name <sender@example.com>",
            dispatch_id=None,
        )
    ],
    "event-delivery-record": [
        Delivery(
            recipient=address("recipient@example.com"),
            smtp_response="250 2.6.0 Message received",
            processing_time_ms=11893,
            reporting_mta="mta.example.com",
            ses_message_id=EVENT_MESSAGE_ID,
            timestamp=at("2016-10-19T23:21:04.133"),
            source="sender@example.com",
            dispatch_id=None,
        )
    ],
    "event-deliverydelay-record": [
        OtherFeedback(
            kind="DeliveryDelay",
            ses_message_id=EVENT_MESSAGE_ID,
            recipients=(address("recipient@example.com"),),
            detail="TransientCommunicationFailure",
            dispatch_id=None,
        )
    ],
    "event-reject-record": [
        OtherFeedback(
            kind="Reject",
            ses_message_id=EVENT_MESSAGE_ID,
            recipients=(address("sender@example.com"),),  # the example's mail.destination
            detail="Bad content",
            dispatch_id=None,
        )
    ],
    "event-rendering-failure-record": [
        OtherFeedback(
            kind="Rendering Failure",
            ses_message_id=EVENT_MESSAGE_ID,
            recipients=(address("recipient@example.com"),),
            detail="Attribute 'attributeName' is not present in the rendering data.",
            dispatch_id=None,
        )
    ],
    "event-subscription-record": [
        OtherFeedback(
            kind="Subscription",
            ses_message_id="EXAMPLEe4bccb684-777bc8de-afa7-4970-92b0-f515137b1497-000000",
            recipients=(address("recipient@example.com"),),
            detail="UnsubscribeHeader",
            dispatch_id=None,
        )
    ],
    "event-send-record": [IgnoredFeedback("Send")],
    "event-open-record": [IgnoredFeedback("Open")],
    "event-click-record": [IgnoredFeedback("Click")],
}


def test_every_example_parses(ses_example: Path) -> None:
    assert parse_ses_feedback(ses_example.read_text())


def test_every_example_has_its_expected_items_written_down(ses_examples_dir: Path) -> None:
    assert {path.stem for path in ses_examples_dir.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_gives_the_recipients_types_and_ids_it_shows(ses_examples_dir: Path, name: str) -> None:
    text = (ses_examples_dir / f"{name}.json").read_text()
    assert parse_ses_feedback(text) == EXPECTED[name]
