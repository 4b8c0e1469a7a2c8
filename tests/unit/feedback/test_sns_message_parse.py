"""What the SNS endpoint refuses before it looks at a signature, and with which status."""

import json
from datetime import UTC, datetime

import pytest

from services.feedback.sns_message import (
    MAX_SNS_BODY_BYTES,
    SnsMessageError,
    SnsMessageType,
    parse_aws_timestamp,
    parse_sns_message,
)
from tests.support.sns_signing import (
    SnsSigningIdentity,
    http_body,
    http_headers,
    notification,
    subscription_confirmation,
)


@pytest.fixture
def signed_notification(signing_identity: SnsSigningIdentity) -> dict:
    return signing_identity.sign(notification("hello", subject="Greeting"))


def parse(fields: dict, **header_overrides: str) -> object:
    return parse_sns_message(json.dumps(fields).encode(), {**http_headers(fields), **header_overrides})


def refusal(body: bytes, headers: dict) -> SnsMessageError:
    with pytest.raises(SnsMessageError) as caught:
        parse_sns_message(body, headers)
    return caught.value


def test_notification_is_read_field_by_field(signed_notification: dict) -> None:
    message = parse_sns_message(http_body(signed_notification), http_headers(signed_notification))
    assert message.type is SnsMessageType.NOTIFICATION
    assert message.message == "hello"
    assert message.subject == "Greeting"
    assert message.message_id == signed_notification["MessageId"]
    assert message.topic_arn == signed_notification["TopicArn"]
    assert message.timestamp_text == signed_notification["Timestamp"]
    assert message.timestamp.tzinfo is not None
    assert message.unsubscribe_url == signed_notification["UnsubscribeURL"]
    assert message.subscribe_url is None and message.token is None


@pytest.mark.parametrize("unsubscribe", [False, True])
def test_confirmation_carries_its_subscribe_url_and_token(
    signing_identity: SnsSigningIdentity, unsubscribe: bool
) -> None:
    signed = signing_identity.sign(subscription_confirmation(unsubscribe=unsubscribe))
    message = parse(signed)
    assert message.subscribe_url == signed["SubscribeURL"]
    assert message.token == signed["Token"]


def test_header_names_are_case_insensitive(signed_notification: dict) -> None:
    headers = {"X-Amz-Sns-Message-Type": "Notification"}
    assert parse_sns_message(http_body(signed_notification), headers).message == "hello"


def test_a_null_subject_counts_as_absent(signed_notification: dict) -> None:
    assert parse(dict(signed_notification, Subject=None)).subject is None


def test_unknown_fields_are_ignored(signed_notification: dict) -> None:
    attributes = {"MessageAttributes": {"a": {"Type": "String", "Value": "b"}}}
    assert parse(dict(signed_notification, **attributes)).message == "hello"


def test_aws_timestamp_is_an_aware_utc_datetime() -> None:
    assert parse_aws_timestamp("2022-07-28T22:53:55.086Z") == datetime(2022, 7, 28, 22, 53, 55, 86000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["2022-07-28", "2022-07-28T22:53:55", "2022-07-28T22:53:55+01:00", "2022-13-28T22:53:55Z", "now", ""]
)
def test_other_timestamps_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_aws_timestamp(text)


def test_oversized_body_is_refused_with_413_before_it_is_parsed() -> None:
    body = b"{" + b" " * MAX_SNS_BODY_BYTES + b"}"
    assert refusal(body, {"x-amz-sns-message-type": "Notification"}).status == 413


def test_body_of_exactly_the_limit_is_not_refused_for_its_size(signed_notification: dict) -> None:
    body = http_body(signed_notification)
    padded = body + b" " * (MAX_SNS_BODY_BYTES - len(body))
    assert parse_sns_message(padded, http_headers(signed_notification)).message == "hello"


def test_raw_message_delivery_is_refused_with_a_fix(signed_notification: dict) -> None:
    headers = {**http_headers(signed_notification), "x-amz-sns-rawdelivery": "true"}
    error = refusal(b'{"eventType": "Bounce"}', headers)
    assert error.status == 400
    assert "turn off" in error.reason and "raw message delivery" in error.reason


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"hello",
        b"<xml/>",
        b'{"Type": "Notification"',
        b"[]",
        b'"Notification"',
        b"null",
        b"\xff\xfe{}",
        b'{"Type": "Notification", "Type": "Notification"}',
        b'{"Type": NaN}',
        b"[" * 100_000,
    ],
    ids=["empty", "text", "xml", "truncated", "array", "string", "null", "not-utf8", "duplicate-key", "nan", "deep"],
)
def test_body_that_is_not_a_json_object_is_refused_with_400(body: bytes) -> None:
    assert refusal(body, {"x-amz-sns-message-type": "Notification"}).status == 400


def test_truncated_signed_message_is_refused(signed_notification: dict) -> None:
    body = http_body(signed_notification)
    assert refusal(body[: len(body) // 2], http_headers(signed_notification)).status == 400


@pytest.mark.parametrize(
    "field",
    ["Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"],
)
def test_notification_without_a_required_field_is_refused(signed_notification: dict, field: str) -> None:
    fields = {name: value for name, value in signed_notification.items() if name != field}
    assert refusal(json.dumps(fields).encode(), {"x-amz-sns-message-type": "Notification"}).status == 400


@pytest.mark.parametrize("field", ["SubscribeURL", "Token"])
@pytest.mark.parametrize("unsubscribe", [False, True])
def test_confirmation_without_subscribe_url_or_token_is_refused(
    signing_identity: SnsSigningIdentity, field: str, unsubscribe: bool
) -> None:
    signed = signing_identity.sign(subscription_confirmation(unsubscribe=unsubscribe))
    del signed[field]
    with pytest.raises(SnsMessageError, match=field):
        parse(signed)


@pytest.mark.parametrize(
    "field", ["MessageId", "TopicArn", "Message", "Timestamp", "Signature", "Subject", "UnsubscribeURL"]
)
@pytest.mark.parametrize("wrong", [1, 1.5, True, [], {}], ids=["int", "float", "bool", "array", "object"])
def test_field_of_the_wrong_json_type_is_refused(signed_notification: dict, field: str, wrong: object) -> None:
    with pytest.raises(SnsMessageError, match=field):
        parse(dict(signed_notification, **{field: wrong}))


@pytest.mark.parametrize("field", ["MessageId", "Timestamp"])
def test_required_field_that_is_null_or_empty_is_refused(signed_notification: dict, field: str) -> None:
    for value in (None, ""):
        with pytest.raises(SnsMessageError):
            parse(dict(signed_notification, **{field: value}))


def test_lone_surrogate_is_refused(signed_notification: dict) -> None:
    body = http_body(signed_notification).replace(b'"hello"', b'"\\ud800"')
    assert refusal(body, http_headers(signed_notification)).status == 400


@pytest.mark.parametrize("type_name", ["Bounce", "notification", "Notification ", "", 7])
def test_unknown_type_is_refused(signed_notification: dict, type_name: object) -> None:
    with pytest.raises(SnsMessageError):
        parse(dict(signed_notification, Type=type_name), **{"x-amz-sns-message-type": str(type_name)})


def test_unparseable_timestamp_is_refused(signed_notification: dict) -> None:
    with pytest.raises(SnsMessageError, match="Timestamp"):
        parse(dict(signed_notification, Timestamp="yesterday"))


@pytest.mark.parametrize("header_type", ["SubscriptionConfirmation", "UnsubscribeConfirmation", "notification", ""])
def test_header_type_that_disagrees_with_the_body_is_refused(signed_notification: dict, header_type: str) -> None:
    error = refusal(http_body(signed_notification), {"x-amz-sns-message-type": header_type})
    assert error.status == 400 and "x-amz-sns-message-type" in error.reason


def test_missing_message_type_header_is_refused(signed_notification: dict) -> None:
    assert refusal(http_body(signed_notification), {"Content-Type": "text/plain"}).status == 400
