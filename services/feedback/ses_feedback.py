"""SES feedback, read from the `Message` of an SNS notification, as plain values.

SES publishes two shapes with the same inner objects (`mail`, `bounce`, `complaint`, `delivery`...):
- identity notifications, keyed by `notificationType`:
  https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
- configuration-set event publishing, keyed by `eventType`:
  https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html

Bounces, complaints and deliveries become one item per recipient. DeliveryDelay, Reject,
Rendering Failure and Subscription are kept as `OtherFeedback`; Send, Open, Click and SES's
subscription-succeeded notice as `IgnoredFeedback`. Unknown kinds are ignored too, so a new SES
event type never turns into a refused delivery.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.feedback.sns_message import parse_aws_timestamp, parse_strict_json

DISPATCH_ID_HEADER = "X-Postroom-Dispatch-Id"
DISPATCH_ID_TAG = "postroom-dispatch-id"

_DISPATCH_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}", re.ASCII)
_MAX_ADDRESS_LENGTH = 320
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UNSAFE_IN_ADDRESS = re.compile(r"[\s\x00-\x1f\x7f\ud800-\udfff]")


class SesFeedbackError(Exception):
    """The SNS message is not SES feedback we can read (HTTP 400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = 400


class BounceType(StrEnum):
    PERMANENT = "Permanent"
    TRANSIENT = "Transient"
    UNDETERMINED = "Undetermined"


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """A recipient as SES reported it, trimmed, with the domain lower-cased.

    `address` keeps the local part's case because RFC 5321 (2.4) lets the receiving server treat
    it as case-sensitive. `key` lower-cases everything: mailbox providers do not tell `Jane@` from
    `jane@`, so suppression and subject tokens use `key` and a bounce for one stops mail to both.
    """

    address: str
    key: str


@dataclass(frozen=True, slots=True)
class Bounce:
    recipient: EmailAddress
    bounce_type: BounceType
    bounce_subtype: str
    status: str | None
    diagnostic_code: str | None
    action: str | None
    ses_message_id: str
    feedback_id: str
    timestamp: datetime
    source: str
    dispatch_id: str | None

    @property
    def is_permanent(self) -> bool:
        return self.bounce_type is BounceType.PERMANENT


@dataclass(frozen=True, slots=True)
class Complaint:
    recipient: EmailAddress
    complaint_feedback_type: str | None
    complaint_subtype: str | None
    feedback_id: str
    ses_message_id: str
    timestamp: datetime
    user_agent: str | None
    source: str
    dispatch_id: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    recipient: EmailAddress
    smtp_response: str
    processing_time_ms: int
    reporting_mta: str | None
    ses_message_id: str
    timestamp: datetime
    source: str
    dispatch_id: str | None


@dataclass(frozen=True, slots=True)
class OtherFeedback:
    """Feedback worth logging that changes no recipient's status (DeliveryDelay, Reject, ...)."""

    kind: str
    ses_message_id: str | None
    recipients: tuple[EmailAddress, ...]
    detail: str | None
    dispatch_id: str | None


@dataclass(frozen=True, slots=True)
class IgnoredFeedback:
    kind: str


FeedbackItem = Bounce | Complaint | Delivery | OtherFeedback | IgnoredFeedback


def parse_ses_feedback(message: str) -> list[FeedbackItem]:
    """The feedback items in one SES notification, or `SesFeedbackError`."""
    try:
        document = parse_strict_json(message)
    except ValueError as error:
        raise SesFeedbackError(f"the SNS Message is not SES feedback JSON: {error}") from error
    if not isinstance(document, dict):
        raise SesFeedbackError("the SNS Message is not SES feedback: expected a JSON object")
    kind = _feedback_kind(document)
    parser = _PARSER_BY_KIND.get(kind)
    if parser is None:
        return [IgnoredFeedback(kind)]
    return parser(document)


def email_address(text: str) -> EmailAddress:
    """`jane@Example.COM` or `Jane Doe <jane@example.com>` as an `EmailAddress`; raises ValueError."""
    address = text.strip()
    if address.endswith(">") and "<" in address:
        address = address[address.rindex("<") + 1 : -1].strip()
    local_part, at, domain = address.rpartition("@")
    if not at or not local_part or not domain:
        raise ValueError(f"{text!r} is not an email address")
    if len(address) > _MAX_ADDRESS_LENGTH or _UNSAFE_IN_ADDRESS.search(address):
        raise ValueError(f"{text!r} is not an email address")
    normalised = f"{local_part}@{domain.lower()}"
    return EmailAddress(address=normalised, key=normalised.lower())


def _feedback_kind(document: Mapping[str, Any]) -> str:
    event_type = document.get("eventType")
    notification_type = document.get("notificationType")
    if event_type is None and notification_type is None:
        raise SesFeedbackError("the SNS Message has neither eventType nor notificationType: it is not SES feedback")
    if event_type is not None and notification_type is not None and event_type != notification_type:
        raise SesFeedbackError("the SNS Message has both eventType and notificationType, and they differ")
    kind = event_type if event_type is not None else notification_type
    if not isinstance(kind, str) or not kind or not _is_unicode_text(kind):
        raise SesFeedbackError("eventType / notificationType must be a non-empty string")
    return kind


def _bounces(document: Mapping[str, Any]) -> list[FeedbackItem]:
    mail = _SentMail.read(document)
    bounce = _object(document, "bounce")
    bounce_type = _bounce_type(_text(bounce, "bounceType", "bounce"))
    subtype = _text(bounce, "bounceSubType", "bounce")
    feedback_id = _text(bounce, "feedbackId", "bounce")
    timestamp = _timestamp(bounce, "bounce")
    items: list[FeedbackItem] = []
    for index, recipient in enumerate(_list(bounce, "bouncedRecipients", "bounce")):
        where = f"bounce.bouncedRecipients[{index}]"
        recipient = _as_object(recipient, where)
        items.append(
            Bounce(
                recipient=_recipient(_text(recipient, "emailAddress", where), where),
                bounce_type=bounce_type,
                bounce_subtype=subtype,
                status=_optional_text(recipient, "status", where),
                diagnostic_code=_optional_text(recipient, "diagnosticCode", where),
                action=_optional_text(recipient, "action", where),
                ses_message_id=mail.message_id,
                feedback_id=feedback_id,
                timestamp=timestamp,
                source=mail.source,
                dispatch_id=mail.dispatch_id,
            )
        )
    return items


def _complaints(document: Mapping[str, Any]) -> list[FeedbackItem]:
    mail = _SentMail.read(document)
    complaint = _object(document, "complaint")
    feedback_type = _optional_text(complaint, "complaintFeedbackType", "complaint")
    subtype = _optional_text(complaint, "complaintSubType", "complaint")
    feedback_id = _text(complaint, "feedbackId", "complaint")
    timestamp = _timestamp(complaint, "complaint")
    user_agent = _optional_text(complaint, "userAgent", "complaint")
    items: list[FeedbackItem] = []
    for index, recipient in enumerate(_list(complaint, "complainedRecipients", "complaint")):
        where = f"complaint.complainedRecipients[{index}]"
        recipient = _as_object(recipient, where)
        items.append(
            Complaint(
                recipient=_recipient(_text(recipient, "emailAddress", where), where),
                complaint_feedback_type=feedback_type,
                complaint_subtype=subtype,
                feedback_id=feedback_id,
                ses_message_id=mail.message_id,
                timestamp=timestamp,
                user_agent=user_agent,
                source=mail.source,
                dispatch_id=mail.dispatch_id,
            )
        )
    return items


def _deliveries(document: Mapping[str, Any]) -> list[FeedbackItem]:
    mail = _SentMail.read(document)
    delivery = _object(document, "delivery")
    smtp_response = _text(delivery, "smtpResponse", "delivery")
    processing_time_ms = _non_negative_int(delivery, "processingTimeMillis", "delivery")
    reporting_mta = _optional_text(delivery, "reportingMTA", "delivery")
    timestamp = _timestamp(delivery, "delivery")
    items: list[FeedbackItem] = []
    for index, recipient in enumerate(_list(delivery, "recipients", "delivery")):
        where = f"delivery.recipients[{index}]"
        if not isinstance(recipient, str):
            raise SesFeedbackError(f"{where} must be a string")
        items.append(
            Delivery(
                recipient=_recipient(recipient, where),
                smtp_response=smtp_response,
                processing_time_ms=processing_time_ms,
                reporting_mta=reporting_mta,
                ses_message_id=mail.message_id,
                timestamp=timestamp,
                source=mail.source,
                dispatch_id=mail.dispatch_id,
            )
        )
    return items


_DetailReader = Callable[[Mapping[str, Any]], tuple[str | None, list[Any]]]
_FeedbackReader = Callable[[Mapping[str, Any]], list[FeedbackItem]]


def _recorded(detail_of: _DetailReader) -> _FeedbackReader:
    """A lenient reader for feedback we only record: missing or odd fields never refuse it."""

    def read(document: Mapping[str, Any]) -> list[FeedbackItem]:
        mail = _object_or_empty(document.get("mail"))
        detail, recipients = detail_of(document)
        return [
            OtherFeedback(
                kind=_feedback_kind(document),
                ses_message_id=_text_or_none(mail.get("messageId")),
                recipients=_addresses_that_parse(recipients or _list_or_empty(mail.get("destination"))),
                detail=detail,
                dispatch_id=_dispatch_id(mail),
            )
        ]

    return read


def _delivery_delay_detail(document: Mapping[str, Any]) -> tuple[str | None, list[Any]]:
    delay = _object_or_empty(document.get("deliveryDelay"))
    delayed = [r.get("emailAddress") for r in _list_or_empty(delay.get("delayedRecipients")) if isinstance(r, dict)]
    return _text_or_none(delay.get("delayType")), delayed


def _reject_detail(document: Mapping[str, Any]) -> tuple[str | None, list[Any]]:
    return _text_or_none(_object_or_empty(document.get("reject")).get("reason")), []


def _rendering_failure_detail(document: Mapping[str, Any]) -> tuple[str | None, list[Any]]:
    return _text_or_none(_object_or_empty(document.get("failure")).get("errorMessage")), []


def _subscription_detail(document: Mapping[str, Any]) -> tuple[str | None, list[Any]]:
    subscription = _object_or_empty(document.get("subscription"))
    return _text_or_none(subscription.get("source")), []


def _ignored(document: Mapping[str, Any]) -> list[FeedbackItem]:
    return [IgnoredFeedback(_feedback_kind(document))]


_PARSER_BY_KIND: dict[str, _FeedbackReader] = {
    "Bounce": _bounces,
    "Complaint": _complaints,
    "Delivery": _deliveries,
    "DeliveryDelay": _recorded(_delivery_delay_detail),
    "Reject": _recorded(_reject_detail),
    "Rendering Failure": _recorded(_rendering_failure_detail),  # SES spells this event type with a space
    "Subscription": _recorded(_subscription_detail),
    "Send": _ignored,
    "Open": _ignored,
    "Click": _ignored,
    "AmazonSnsSubscriptionSucceeded": _ignored,
}


@dataclass(frozen=True, slots=True)
class _SentMail:
    message_id: str
    source: str
    dispatch_id: str | None

    @classmethod
    def read(cls, document: Mapping[str, Any]) -> _SentMail:
        mail = _object(document, "mail")
        return cls(
            message_id=_text(mail, "messageId", "mail"),
            source=_text(mail, "source", "mail"),
            dispatch_id=_dispatch_id(mail),
        )


def _dispatch_id(mail: Mapping[str, Any]) -> str | None:
    """Postroom's dispatch id, from the original headers (identity notifications with headers
    included) or from the message tags (configuration-set events)."""
    for candidate in (_dispatch_id_header(mail), _dispatch_id_tag(mail)):
        if isinstance(candidate, str) and _DISPATCH_ID.fullmatch(candidate.strip()):
            return candidate.strip()
    return None


def _dispatch_id_header(mail: Mapping[str, Any]) -> object:
    wanted = DISPATCH_ID_HEADER.lower()
    for header in _list_or_empty(mail.get("headers")):
        if isinstance(header, dict) and str(header.get("name", "")).lower() == wanted:
            return header.get("value")
    return None


def _dispatch_id_tag(mail: Mapping[str, Any]) -> object:
    values = _list_or_empty(_object_or_empty(mail.get("tags")).get(DISPATCH_ID_TAG))
    return values[0] if values else None


def _bounce_type(text: str) -> BounceType:
    try:
        return BounceType(text)
    except ValueError:
        raise SesFeedbackError(f"bounce.bounceType {text!r} is not Permanent, Transient or Undetermined") from None


def _recipient(text: str, where: str) -> EmailAddress:
    try:
        return email_address(text)
    except ValueError as error:
        raise SesFeedbackError(f"{where}: {error}") from error


def _addresses_that_parse(values: list[Any]) -> tuple[EmailAddress, ...]:
    addresses = []
    for value in values:
        if isinstance(value, str):
            try:
                addresses.append(email_address(value))
            except ValueError:
                continue
    return tuple(addresses)


def _timestamp(parent: Mapping[str, Any], where: str) -> datetime:
    text = _text(parent, "timestamp", where)
    try:
        return parse_aws_timestamp(text)
    except ValueError as error:
        raise SesFeedbackError(f"{where}.timestamp: {error}") from error


def _object(parent: Mapping[str, Any], name: str, where: str = "") -> Mapping[str, Any]:
    return _as_object(parent.get(name), f"{where}.{name}" if where else name)


def _as_object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SesFeedbackError(f"{where} must be a JSON object")
    return value


def _text(parent: Mapping[str, Any], name: str, where: str) -> str:
    value = _optional_text(parent, name, where)
    if not value:
        raise SesFeedbackError(f"{where}.{name} must be a non-empty string")
    return value


def _optional_text(parent: Mapping[str, Any], name: str, where: str) -> str | None:
    value = parent.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SesFeedbackError(f"{where}.{name} must be a string")
    if not _is_unicode_text(value):
        raise SesFeedbackError(f"{where}.{name} holds an unpaired UTF-16 surrogate")
    return value


def _list(parent: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = parent.get(name)
    if not isinstance(value, list):
        raise SesFeedbackError(f"{where}.{name} must be a JSON array")
    return value


def _non_negative_int(parent: Mapping[str, Any], name: str, where: str) -> int:
    value = parent.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SesFeedbackError(f"{where}.{name} must be a non-negative integer")
    return value


def _object_or_empty(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list_or_empty(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and _is_unicode_text(value) else None


def _is_unicode_text(value: str) -> bool:
    # JSON escapes can spell lone surrogates ("\\ud800") that no event encoder accepts.
    return _LONE_SURROGATE.search(value) is None
