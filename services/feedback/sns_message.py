"""An Amazon SNS HTTP(S) delivery, parsed strictly from the request body and headers.

Message shapes: https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
Headers: https://docs.aws.amazon.com/sns/latest/dg/http-header.html

Parsing checks shape only. Whether SNS really sent the message is `SnsSignatureVerifier`'s job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

MAX_SNS_BODY_BYTES = 256 * 1024
MESSAGE_TYPE_HEADER = "x-amz-sns-message-type"
RAW_DELIVERY_HEADER = "x-amz-sns-rawdelivery"

_AWS_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z", re.ASCII)


class SnsMessageError(Exception):
    """A request the SNS endpoint refuses, with the HTTP status it should answer."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class SnsMessageType(StrEnum):
    NOTIFICATION = "Notification"
    SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
    UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"


_FIELDS_EVERY_TYPE_REQUIRES = (
    "Type",
    "MessageId",
    "TopicArn",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
)
_FIELDS_CONFIRMATIONS_ALSO_REQUIRE = ("SubscribeURL", "Token")


@dataclass(frozen=True, slots=True)
class SnsMessage:
    type: SnsMessageType
    message_id: str
    topic_arn: str
    message: str
    timestamp: datetime
    timestamp_text: str  # exactly as SNS wrote it: the signature covers this text, not the datetime
    signature_version: str
    signature: str
    signing_cert_url: str
    subject: str | None = None
    subscribe_url: str | None = None
    token: str | None = None
    unsubscribe_url: str | None = None


def parse_sns_message(body: bytes, headers: Mapping[str, str]) -> SnsMessage:
    """Parse one SNS HTTP delivery or raise `SnsMessageError` (400, or 413 when too large)."""
    if len(body) > MAX_SNS_BODY_BYTES:
        raise SnsMessageError(
            f"the body is {len(body)} bytes; an SNS message is at most {MAX_SNS_BODY_BYTES} bytes", 413
        )
    header_values = _lower_cased_headers(headers)
    _refuse_raw_delivery(header_values)
    document = _json_object(body)
    message_type = _message_type(document)
    _require_header_to_agree(header_values, message_type)
    return _message_from(document, message_type)


def parse_aws_timestamp(text: str) -> datetime:
    """An AWS ISO 8601 UTC timestamp such as `2022-07-28T22:53:55.086Z`; raises ValueError."""
    if not _AWS_TIMESTAMP.fullmatch(text):
        raise ValueError(f"{text!r} is not a UTC timestamp like 2022-07-28T22:53:55.086Z")
    return datetime.fromisoformat(text)


def parse_strict_json(text: str | bytes) -> Any:
    """JSON that refuses duplicate keys and NaN/Infinity; raises ValueError.

    Duplicate keys are refused because two parsers may pick different values for the same key,
    and the signature check must see the same message as the code that acts on it.
    """
    try:
        if isinstance(text, bytes):  # as json.loads does it, without building a decoder per call
            text = text.decode(json.detect_encoding(text), "surrogatepass")
        return _STRICT_DECODER.decode(text)
    except RecursionError as error:
        raise ValueError("JSON is nested too deeply") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error}") from error


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"JSON key {key!r} appears twice")
        document[key] = value
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not allowed")


_STRICT_DECODER = json.JSONDecoder(object_pairs_hook=_object_without_duplicate_keys, parse_constant=_refuse_constant)


def _lower_cased_headers(headers: Mapping[str, str]) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered.setdefault(str(name).lower(), str(value))
    return lowered


def _refuse_raw_delivery(header_values: Mapping[str, str]) -> None:
    # Raw delivery posts the bare message without the SNS envelope, so there is nothing to verify.
    if header_values.get(RAW_DELIVERY_HEADER, "").strip().lower() == "true":
        raise SnsMessageError(
            "raw message delivery is enabled on this SNS subscription; raw messages carry no signature "
            "and cannot be verified: turn off 'Enable raw message delivery' on the subscription"
        )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SnsMessageError(f"the body is not UTF-8 text: {error.reason} at byte {error.start}") from error
    try:
        document = parse_strict_json(text)
    except ValueError as error:
        raise SnsMessageError(f"the body is not an SNS JSON message: {error}") from error
    if not isinstance(document, dict):
        raise SnsMessageError("the body is not an SNS JSON message: expected a JSON object")
    return document


def _message_type(document: Mapping[str, Any]) -> SnsMessageType:
    type_name = _required_text(document, "Type")
    try:
        return SnsMessageType(type_name)
    except ValueError:
        allowed = ", ".join(t.value for t in SnsMessageType)
        raise SnsMessageError(f"unknown SNS message Type {type_name!r}; expected one of {allowed}") from None


def _require_header_to_agree(header_values: Mapping[str, str], message_type: SnsMessageType) -> None:
    header_type = header_values.get(MESSAGE_TYPE_HEADER)
    if header_type is None:
        raise SnsMessageError(f"the {MESSAGE_TYPE_HEADER} header is missing; SNS always sends it")
    if header_type != message_type.value:
        raise SnsMessageError(
            f"the {MESSAGE_TYPE_HEADER} header says {header_type!r} but the body's Type is {message_type.value!r}"
        )


def _message_from(document: Mapping[str, Any], message_type: SnsMessageType) -> SnsMessage:
    fields = {name: _required_text(document, name) for name in _FIELDS_EVERY_TYPE_REQUIRES}
    is_confirmation = message_type is not SnsMessageType.NOTIFICATION
    if is_confirmation:
        fields |= {name: _required_text(document, name) for name in _FIELDS_CONFIRMATIONS_ALSO_REQUIRE}
    return SnsMessage(
        type=message_type,
        message_id=fields["MessageId"],
        topic_arn=fields["TopicArn"],
        message=fields["Message"],
        timestamp=_timestamp(fields["Timestamp"]),
        timestamp_text=fields["Timestamp"],
        signature_version=fields["SignatureVersion"],
        signature=fields["Signature"],
        signing_cert_url=fields["SigningCertURL"],
        subject=_optional_text(document, "Subject"),
        subscribe_url=fields.get("SubscribeURL"),
        token=fields.get("Token"),
        unsubscribe_url=_optional_text(document, "UnsubscribeURL"),
    )


def _timestamp(text: str) -> datetime:
    try:
        return parse_aws_timestamp(text)
    except ValueError as error:
        raise SnsMessageError(f"Timestamp: {error}") from error


def _required_text(document: Mapping[str, Any], name: str) -> str:
    if name not in document:
        raise SnsMessageError(f"the SNS message has no {name} field")
    value = _optional_text(document, name)
    if value is None:
        raise SnsMessageError(f"the SNS message field {name} is null; expected a string")
    if value == "" and name != "Message":
        raise SnsMessageError(f"the SNS message field {name} is empty")
    return value


def _optional_text(document: Mapping[str, Any], name: str) -> str | None:
    # A null optional field is treated as absent: the signed string leaves it out either way.
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SnsMessageError(f"the SNS message field {name} is a JSON {_json_type_name(value)}; expected a string")
    if not _is_encodable(value):
        raise SnsMessageError(f"the SNS message field {name} holds an unpaired UTF-16 surrogate")
    return value


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
