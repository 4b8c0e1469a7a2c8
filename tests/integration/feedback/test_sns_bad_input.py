"""Bad deliveries are refused with a 4xx and a reason, and none of them makes an outbound request.

The service downloads certificates (no pinned directory) and every host it could look up
resolves to the local SNS stand-in, so `requests == 0` proves nothing was fetched or resolved.
A forged signature on the genuine certificate URL needs that certificate, so the signed cases
start with it cached by one good delivery, as it would be in production after the first one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.feedback.conftest import FeedbackHarness
from tests.support import ses_feedback_messages as ses
from tests.support.sns_signing import http_body, http_headers, notification

Signed = dict[str, Any]


def with_field(name: str, value: Any) -> Callable[[Signed], Signed]:
    return lambda signed: dict(signed, **{name: value})


def without(name: str) -> Callable[[Signed], Signed]:
    return lambda signed: {k: v for k, v in signed.items() if k != name}


def forged(signed: Signed) -> Signed:
    signature = bytearray(base64.b64decode(signed["Signature"]))
    signature[10] ^= 1
    return dict(signed, Signature=base64.b64encode(bytes(signature)).decode())


CERT_URLS = {
    "http": "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "other-host": "https://evil.example.com/SimpleNotificationService-abc.pem",
    "suffix-host": "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-abc.pem",
    "userinfo": "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "userinfo-host": "https://sns.us-east-1.amazonaws.com@evil.com/SimpleNotificationService-abc.pem",
    "s3-bucket": "https://sns-bucket.s3.amazonaws.com/SimpleNotificationService-abc.pem",
    "port": "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-abc.pem",
    "query": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem?x=1",
}

SIGNED_CASES: dict[str, tuple[Callable[[Signed], Signed], int]] = {
    "forged-signature": (forged, 403),
    "changed-message": (lambda s: dict(s, Message=s["Message"].replace("Permanent", "Transient")), 403),
    "signature-version-3": (with_field("SignatureVersion", "3"), 403),
    "signature-not-base64": (with_field("Signature", "!!!"), 403),
    "too-old": (with_field("Timestamp", "2020-01-01T00:00:00.000Z"), 403),
    "no-signature": (without("Signature"), 400),
    "signature-number": (with_field("Signature", 12), 400),
    "message-object": (with_field("Message", {"notificationType": "Bounce"}), 400),
    "unknown-type": (with_field("Type", "Notice"), 400),
    "bad-timestamp": (with_field("Timestamp", "yesterday"), 400),
    "message-id-with-newline": (with_field("MessageId", "abc\r\nX-Evil: 1"), 400),
    **{f"cert-url-{name}": (with_field("SigningCertURL", url), 403) for name, url in CERT_URLS.items()},
}


@pytest.mark.parametrize("case", SIGNED_CASES, ids=str)
async def test_bad_signed_delivery_is_refused_without_outbound_requests(feedback: FeedbackHarness, case: str) -> None:
    await feedback.save_provider()
    # A good delivery first, so the genuine certificate is cached; any request after it is the bad one's.
    assert (await feedback.post_signed(notification(ses.delivery(["warm@example.com"]))))[0] == 200
    feedback.sns.hits.clear()
    feedback.sns.lookups.clear()
    change, expected = SIGNED_CASES[case]
    signed = change(feedback.identity.sign(notification(ses.bounce(["a@example.com"]))))
    headers = http_headers(dict(signed, Type="Notification", MessageId="m"))

    status, reason = await feedback.post(json.dumps(signed).encode(), headers=headers)

    assert (status, feedback.sns.requests) == (expected, 0), reason
    assert reason.strip()
    assert await feedback.events("BounceReceived") == []


RAW_CASES: dict[str, tuple[bytes, int]] = {
    "empty": (b"", 400),
    "not-json": (b"this is not json", 400),
    "truncated": (http_body(notification("x"))[:-20], 400),
    "json-array": (b"[1, 2, 3]", 400),
    "json-string": (b'"Notification"', 400),
    "not-utf8": (b'{"Type": "\xff\xfe"}', 400),
    "duplicate-keys": (b'{"Type": "Notification", "Type": "Notification"}', 400),
    "nan": (b'{"Type": NaN}', 400),
    "deeply-nested": (b"[" * 100_000 + b"]" * 100_000, 400),
    "oversized": (b" " * (256 * 1024 + 1), 413),
}


@pytest.mark.parametrize("case", RAW_CASES, ids=str)
async def test_malformed_body_is_refused(feedback: FeedbackHarness, case: str) -> None:
    await feedback.save_provider()
    body, expected = RAW_CASES[case]

    status, reason = await feedback.post(
        body, headers={"x-amz-sns-message-type": "Notification", "Content-Type": "text/plain; charset=UTF-8"}
    )

    assert (status, feedback.sns.requests) == (expected, 0), reason


async def test_ses_feedback_that_cannot_be_read_is_a_400(pinned_feedback: FeedbackHarness) -> None:
    await pinned_feedback.save_provider()
    not_ses = notification(json.dumps({"notificationType": "Bounce", "bounce": "no"}))

    status, reason = await pinned_feedback.post_signed(not_ses)

    assert status == 400 and "must be a JSON object" in reason
