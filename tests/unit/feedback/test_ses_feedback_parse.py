"""Reading SES feedback: recipients, dispatch ids, and what is refused as malformed."""

import json

import pytest

from services.feedback.ses_feedback import (
    DISPATCH_ID_HEADER,
    DISPATCH_ID_TAG,
    Bounce,
    BounceType,
    Complaint,
    Delivery,
    EmailAddress,
    IgnoredFeedback,
    OtherFeedback,
    SesFeedbackError,
    email_address,
    parse_ses_feedback,
)


def bounce_notification(**bounce_overrides: object) -> dict:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Transient",
            "bounceSubType": "MailboxFull",
            "bouncedRecipients": [{"emailAddress": "Jane.Doe@Example.COM", "status": "4.2.2", "action": "failed"}],
            "timestamp": "2024-05-01T10:00:00.000Z",
            "feedbackId": "feedback-1",
            **bounce_overrides,
        },
        "mail": {"timestamp": "2024-05-01T09:59:58.000Z", "messageId": "ses-1", "source": "news@example.org"},
    }


def only_item(document: dict) -> object:
    (item,) = parse_ses_feedback(json.dumps(document))
    return item


@pytest.mark.parametrize(
    ("text", "address", "key"),
    [
        ("jane@example.com", "jane@example.com", "jane@example.com"),
        ("  Jane.Doe@Example.COM \n", "Jane.Doe@example.com", "jane.doe@example.com"),
        ("Jane Doe <Jane@EXAMPLE.com>", "Jane@example.com", "jane@example.com"),
        ('"a@b"@example.com', '"a@b"@example.com', '"a@b"@example.com'),
    ],
)
def test_email_address_keeps_the_local_part_and_lower_cases_the_domain(text: str, address: str, key: str) -> None:
    assert email_address(text) == EmailAddress(address=address, key=key)


@pytest.mark.parametrize(
    "text", ["", "jane", "@example.com", "jane@", "ja ne@example.com", "jane@exa\u0000mple.com", "a" * 400 + "@x.com"]
)
def test_text_that_is_not_an_email_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        email_address(text)


def test_transient_bounce_is_read() -> None:
    item = only_item(bounce_notification())
    assert isinstance(item, Bounce)
    assert item.bounce_type is BounceType.TRANSIENT and not item.is_permanent
    assert item.recipient == EmailAddress("Jane.Doe@example.com", "jane.doe@example.com")
    assert (item.bounce_subtype, item.status, item.diagnostic_code) == ("MailboxFull", "4.2.2", None)


def test_undetermined_bounce_is_read() -> None:
    assert only_item(bounce_notification(bounceType="Undetermined")).bounce_type is BounceType.UNDETERMINED


def test_dispatch_id_comes_from_the_original_headers() -> None:
    document = bounce_notification()
    document["mail"]["headers"] = [
        {"name": "From", "value": "news@example.org"},
        {"name": DISPATCH_ID_HEADER.lower(), "value": " 0190f5c2-7d3e-7b61-8f00-123456789abc "},
    ]
    assert only_item(document).dispatch_id == "0190f5c2-7d3e-7b61-8f00-123456789abc"


def test_dispatch_id_comes_from_the_message_tags() -> None:
    document = bounce_notification()
    document["mail"]["tags"] = {DISPATCH_ID_TAG: ["0190f5c2-7d3e-7b61-8f00-123456789abc"], "ses:from-domain": ["x"]}
    assert only_item(document).dispatch_id == "0190f5c2-7d3e-7b61-8f00-123456789abc"


@pytest.mark.parametrize("value", ["", "has space", "x" * 200, 42, None, ["list"]])
def test_dispatch_id_that_is_not_an_id_is_dropped(value: object) -> None:
    document = bounce_notification()
    document["mail"]["headers"] = [{"name": DISPATCH_ID_HEADER, "value": value}]
    assert only_item(document).dispatch_id is None


def test_complaint_with_a_subtype_is_read() -> None:
    document = {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "a@example.com"}, {"emailAddress": "b@example.com"}],
            "complaintSubType": "OnAccountSuppressionList",
            "timestamp": "2024-05-01T10:00:00Z",
            "feedbackId": "f",
        },
        "mail": {"messageId": "m", "source": "s@example.org"},
    }
    items = parse_ses_feedback(json.dumps(document))
    assert [item.recipient.key for item in items] == ["a@example.com", "b@example.com"]
    assert all(isinstance(item, Complaint) and item.complaint_subtype == "OnAccountSuppressionList" for item in items)


def test_delivery_to_several_recipients_gives_one_item_each() -> None:
    document = {
        "notificationType": "Delivery",
        "delivery": {
            "timestamp": "2024-05-01T10:00:00.000Z",
            "recipients": ["a@example.com", "B@Example.com"],
            "processingTimeMillis": 0,
            "smtpResponse": "250 ok",
        },
        "mail": {"messageId": "m", "source": "s@example.org"},
    }
    items = parse_ses_feedback(json.dumps(document))
    assert all(isinstance(item, Delivery) for item in items)
    assert [item.recipient.address for item in items] == ["a@example.com", "B@example.com"]


@pytest.mark.parametrize("kind", ["AmazonSnsSubscriptionSucceeded", "Send", "Open", "Click", "SomethingNew"])
def test_feedback_without_recipient_consequences_is_ignored(kind: str) -> None:
    assert parse_ses_feedback(json.dumps({"notificationType": kind})) == [IgnoredFeedback(kind)]


@pytest.mark.parametrize("kind", ["DeliveryDelay", "Reject", "Rendering Failure", "Subscription"])
def test_recorded_feedback_with_odd_fields_is_still_accepted(kind: str) -> None:
    document = {"eventType": kind, "mail": {"destination": "not a list", "messageId": 7}, "reject": [], "failure": 1}
    assert parse_ses_feedback(json.dumps(document)) == [OtherFeedback(kind, None, (), None, None)]


MALFORMED = {
    "not json": "Hello world",
    "array": "[]",
    "no kind": json.dumps({"mail": {}}),
    "kind not text": json.dumps({"eventType": 3}),
    "kinds differ": json.dumps({"eventType": "Bounce", "notificationType": "Delivery"}),
    "no bounce object": json.dumps({"notificationType": "Bounce", "mail": {"messageId": "m", "source": "s"}}),
    "no mail": json.dumps({k: v for k, v in bounce_notification().items() if k != "mail"}),
    "mail without messageId": json.dumps(dict(bounce_notification(), mail={"source": "s"})),
    "unknown bounce type": json.dumps(bounce_notification(bounceType="Soft")),
    "recipients not a list": json.dumps(bounce_notification(bouncedRecipients={"emailAddress": "a@b.c"})),
    "recipient not an object": json.dumps(bounce_notification(bouncedRecipients=["a@b.c"])),
    "recipient not an address": json.dumps(bounce_notification(bouncedRecipients=[{"emailAddress": "nobody"}])),
    "status of wrong type": json.dumps(bounce_notification(bouncedRecipients=[{"emailAddress": "a@b.c", "status": 5}])),
    "bad timestamp": json.dumps(bounce_notification(timestamp="May 1st")),
    "no feedbackId": json.dumps(bounce_notification(feedbackId=None)),
    "lone surrogate": json.dumps(bounce_notification()).replace("MailboxFull", "\\ud800"),
    "processing time negative": json.dumps(
        {
            "eventType": "Delivery",
            "delivery": {
                "timestamp": "2024-05-01T10:00:00Z",
                "recipients": [],
                "processingTimeMillis": -1,
                "smtpResponse": "250",
            },
            "mail": {"messageId": "m", "source": "s"},
        }
    ),
    "processing time boolean": json.dumps(
        {
            "eventType": "Delivery",
            "delivery": {
                "timestamp": "2024-05-01T10:00:00Z",
                "recipients": [],
                "processingTimeMillis": True,
                "smtpResponse": "250",
            },
            "mail": {"messageId": "m", "source": "s"},
        }
    ),
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_feedback_is_refused_with_400(text: str) -> None:
    with pytest.raises(SesFeedbackError) as caught:
        parse_ses_feedback(text)
    assert caught.value.status == 400 and caught.value.reason
