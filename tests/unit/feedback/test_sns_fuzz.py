"""Whatever arrives at the endpoint, parsing and verifying end in a result or in one of our errors.

The endpoint maps `SnsMessageError` (and its `SnsVerificationError`) and `SesFeedbackError` to 4xx
answers, so any other exception here would be a 500.
"""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.feedback.ses_feedback import SesFeedbackError, parse_ses_feedback
from services.feedback.sns_message import SnsMessageError, parse_sns_message
from services.feedback.sns_verifier import PinnedCertificateDirectory, SnsSignatureVerifier
from tests.support.sns_signing import (
    SnsSigningIdentity,
    http_body,
    http_headers,
    notification,
    subscription_confirmation,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SNS_FIELDS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Subject",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "SubscribeURL",
    "Token",
    "UnsubscribeURL",
]
TYPES = ["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]
SES_EXAMPLES_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "conformance" / "ses"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
header_maps = st.dictionaries(
    st.sampled_from(["x-amz-sns-message-type", "X-Amz-Sns-Rawdelivery", "content-type"]) | st.text(max_size=20),
    st.sampled_from(TYPES + ["true", "false"]) | st.text(max_size=30),
    max_size=4,
)


def outcome_of(body: bytes, headers: dict, verifier: SnsSignatureVerifier) -> None:
    """Parse, verify and read one delivery; our own errors are a fine outcome."""

    async def handle() -> None:
        message = parse_sns_message(body, headers)
        await verifier.verify(message)
        if message.type == "Notification":
            parse_ses_feedback(message.message)

    try:
        asyncio.run(handle())
    except (SnsMessageError, SesFeedbackError):
        pass


@pytest.fixture
def fuzz_verifier(pinned_dir: Path) -> SnsSignatureVerifier:
    return SnsSignatureVerifier(PinnedCertificateDirectory(pinned_dir), max_age=None)


@FUZZ
@given(body=st.binary(max_size=2048), headers=header_maps)
def test_arbitrary_bytes_only_raise_our_errors(body: bytes, headers: dict, fuzz_verifier: SnsSignatureVerifier) -> None:
    outcome_of(body, headers, fuzz_verifier)


@FUZZ
@given(
    fields=st.dictionaries(st.sampled_from(SNS_FIELDS), json_values | st.sampled_from(TYPES), max_size=len(SNS_FIELDS)),
    header_type=st.sampled_from(TYPES) | st.text(max_size=10),
)
def test_arbitrary_sns_shaped_objects_only_raise_our_errors(
    fields: dict, header_type: str, fuzz_verifier: SnsSignatureVerifier
) -> None:
    outcome_of(json.dumps(fields).encode(), {"x-amz-sns-message-type": header_type}, fuzz_verifier)


@FUZZ
@given(
    kind=st.sampled_from(["notification", "subscription", "unsubscribe"]),
    version=st.sampled_from(["1", "2"]),
    field=st.sampled_from(SNS_FIELDS),
    value=json_values,
)
def test_signed_messages_with_one_field_replaced_only_raise_our_errors(
    kind: str,
    version: str,
    field: str,
    value: object,
    signing_identity: SnsSigningIdentity,
    fuzz_verifier: SnsSignatureVerifier,
) -> None:
    unsigned = {
        "notification": lambda: notification('{"notificationType": "Send"}'),
        "subscription": subscription_confirmation,
        "unsubscribe": lambda: subscription_confirmation(unsubscribe=True),
    }[kind]()
    signed = dict(signing_identity.sign(unsigned, version), **{field: value})
    outcome_of(json.dumps(signed).encode(), http_headers(unsigned), fuzz_verifier)


def ses_examples() -> list[object]:
    return [json.loads(path.read_text()) for path in sorted(SES_EXAMPLES_DIR.glob("*.json"))]


def paths_in(document: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths_in(value, prefix + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths_in(value, prefix + (index,))
    return found


def replaced(document: object, path: tuple, value: object) -> object:
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return copy


@FUZZ
@given(data=st.data(), value=json_values)
def test_ses_examples_with_any_value_replaced_only_raise_our_error(data: st.DataObject, value: object) -> None:
    example = data.draw(st.sampled_from(ses_examples()))
    path = data.draw(st.sampled_from(paths_in(example)))
    try:
        parse_ses_feedback(json.dumps(replaced(example, path, value)))
    except SesFeedbackError:
        pass


@FUZZ
@given(text=st.text(max_size=200))
def test_arbitrary_text_as_ses_feedback_only_raises_our_error(text: str) -> None:
    try:
        parse_ses_feedback(text)
    except SesFeedbackError:
        pass


def test_fuzzing_reaches_a_verified_message(
    signing_identity: SnsSigningIdentity, fuzz_verifier: SnsSignatureVerifier
) -> None:
    """The strategies above start from messages that do verify; this one shows they do."""
    signed = signing_identity.sign(notification('{"notificationType": "Send"}', timestamp=datetime.now(UTC)))
    asyncio.run(fuzz_verifier.verify(parse_sns_message(http_body(signed), http_headers(signed))))
