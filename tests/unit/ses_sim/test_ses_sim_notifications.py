import json
from datetime import UTC, datetime, timedelta

from services.feedback.ses_feedback import Bounce, Complaint, Delivery, parse_ses_feedback
from services.ses_sim.mailbox_simulator import simulated_outcome
from services.ses_sim.ses_notifications import SentMail, aws_timestamp, notifications_for
from services.ses_sim.sns_messages import string_to_sign, subscription_confirmation

ACCEPTED = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
RAW = (
    b"From: News <news@example.com>\r\nTo: bounce@simulator.amazonses.com,\r\n success@simulator.amazonses.com\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9?=\r\nMessage-ID: <abc@example.com>\r\nX-Postroom-Dispatch-Id: d-123\r\n"
    b"\r\nhello\r\n"
)
SOURCE_ARN = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
MAIL = SentMail(
    "0100018f3-id-000000",
    ACCEPTED,
    "news@example.com",
    SOURCE_ARN,
    "127.0.0.1",
    "123456789012",
    "ses-smtp-user",
    ("bounce@simulator.amazonses.com", "success@simulator.amazonses.com"),
    RAW,
)


def notifications(address):
    return notifications_for(MAIL, address, simulated_outcome(address), ACCEPTED + timedelta(seconds=1))


def test_timestamps_have_milliseconds_and_z():
    assert aws_timestamp(ACCEPTED) == "2024-05-01T12:00:00.123Z"


def test_mail_object_keeps_the_original_headers_and_ses_id():
    mail = notifications("bounce@simulator.amazonses.com")[0]["mail"]
    assert mail["messageId"] == "0100018f3-id-000000"
    assert {"name": "X-Postroom-Dispatch-Id", "value": "d-123"} in mail["headers"]
    assert {"name": "To", "value": "bounce@simulator.amazonses.com, success@simulator.amazonses.com"} in mail["headers"]
    assert mail["commonHeaders"]["subject"] == "Café" and mail["commonHeaders"]["messageId"] == "abc@example.com"
    assert mail["destination"] == list(MAIL.destination)


def test_a_bounce_parses_as_the_feedback_service_reads_it():
    [bounce] = parse_ses_feedback(json.dumps(notifications("bounce+7@simulator.amazonses.com")[0]))
    assert isinstance(bounce, Bounce) and bounce.is_permanent and bounce.bounce_subtype == "General"
    assert bounce.recipient.address == "bounce+7@simulator.amazonses.com"
    assert bounce.ses_message_id == MAIL.ses_message_id and bounce.dispatch_id == "d-123"


def test_complaint_sends_a_delivery_then_an_abuse_complaint():
    delivery, complaint = notifications("complaint@simulator.amazonses.com")
    assert [type(item) for item in parse_ses_feedback(json.dumps(delivery))] == [Delivery]
    [parsed] = parse_ses_feedback(json.dumps(complaint))
    assert isinstance(parsed, Complaint)
    assert complaint["complaint"]["complaintFeedbackType"] == "abuse"


def test_suppression_list_bounce_subtype():
    [bounce] = parse_ses_feedback(json.dumps(notifications("suppressionlist@simulator.amazonses.com")[0]))
    assert bounce.bounce_subtype == "OnAccountSuppressionList"


def test_the_signed_string_of_a_confirmation_follows_sns():
    message = subscription_confirmation("arn:aws:sns:us-east-1:123456789012:t", "tok", ACCEPTED)
    names = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    assert string_to_sign(message) == "".join(f"{name}\n{message[name]}\n" for name in names).encode()
    assert message["SubscribeURL"] == (
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
        "&TopicArn=arn:aws:sns:us-east-1:123456789012:t&Token=tok"
    )
