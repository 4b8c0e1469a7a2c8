"""SnsSignatureVerifier on our own vectors: every SNS message type, both signature versions."""

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from services.feedback.sns_message import SnsMessage, parse_sns_message
from services.feedback.sns_verifier import (
    PinnedCertificateDirectory,
    SnsSignatureVerifier,
    SnsVerificationError,
    canonical_string,
)
from tests.support.sns_signing import (
    SnsSigningAuthority,
    SnsSigningIdentity,
    http_body,
    http_headers,
    notification,
    subscription_confirmation,
)

UNSIGNED_MESSAGES = {
    "notification": lambda moment: notification('{"notificationType": "Bounce"}', timestamp=moment),
    "notification-with-subject": lambda moment: notification(
        "body", subject="Amazon SES Email Event", timestamp=moment
    ),
    "subscription-confirmation": lambda moment: subscription_confirmation(timestamp=moment),
    "unsubscribe-confirmation": lambda moment: subscription_confirmation(timestamp=moment, unsubscribe=True),
}


def parsed(fields: dict) -> SnsMessage:
    return parse_sns_message(http_body(fields), http_headers(fields))


async def refusal(verifier: SnsSignatureVerifier, fields: dict) -> SnsVerificationError:
    with pytest.raises(SnsVerificationError) as caught:
        await verifier.verify(parsed(fields))
    assert caught.value.status == 403
    return caught.value


class CountingCertificateSource:
    def __init__(self, inner: PinnedCertificateDirectory) -> None:
        self.inner = inner
        self.requests: list[str] = []

    async def get(self, url: str) -> x509.Certificate:
        self.requests.append(url)
        await asyncio.sleep(0.01)  # let concurrent verifications pile up on the first download
        return await self.inner.get(url)


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("kind", sorted(UNSIGNED_MESSAGES))
async def test_own_vector_verifies(
    verifier: SnsSignatureVerifier, signing_identity: SnsSigningIdentity, now: datetime, kind: str, version: str
) -> None:
    await verifier.verify(parsed(signing_identity.sign(UNSIGNED_MESSAGES[kind](now), version)))


@pytest.mark.parametrize("kind", ["subscription-confirmation", "unsubscribe-confirmation"])
@pytest.mark.parametrize("field", ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn"])
async def test_confirmation_fails_when_a_signed_field_changes(
    verifier: SnsSignatureVerifier, signing_identity: SnsSigningIdentity, now: datetime, kind: str, field: str
) -> None:
    signed = signing_identity.sign(UNSIGNED_MESSAGES[kind](now), "2")
    value = signed[field]
    position = len(value) - (2 if field == "Timestamp" else 1)  # the millisecond digit, not the "Z"
    changed = value[:position] + ("0" if value[position] != "0" else "1") + value[position + 1 :]
    await refusal(verifier, dict(signed, **{field: changed}))


async def test_confirmation_canonical_string_follows_the_documented_order(signing_identity: SnsSigningIdentity) -> None:
    fields = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "m",
        "Token": "t",
        "TopicArn": "arn",
        "Message": "hi",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "Timestamp": "2024-01-02T03:04:05.678Z",
    }
    expected = (
        "Message\nhi\nMessageId\nm\nSubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription\n"
        "Timestamp\n2024-01-02T03:04:05.678Z\nToken\nt\nTopicArn\narn\nType\nSubscriptionConfirmation\n"
    )
    assert canonical_string(parsed(signing_identity.sign(fields))) == expected.encode()


async def test_message_signed_by_another_key_is_refused(
    verifier: SnsSignatureVerifier, sns_authority: SnsSigningAuthority, signing_identity: SnsSigningIdentity
) -> None:
    forger = SnsSigningIdentity.issued_by(sns_authority, region=signing_identity.region)
    forger.certificate_id = signing_identity.certificate_id  # claims the pinned certificate's URL
    error = await refusal(verifier, forger.sign(notification("forged")))
    assert "does not match" in error.reason


async def test_signature_that_is_not_base64_is_refused(
    verifier: SnsSignatureVerifier, signing_identity: SnsSigningIdentity
) -> None:
    signed = signing_identity.sign(notification("x"))
    await refusal(verifier, dict(signed, Signature="not base64!"))
    await refusal(verifier, dict(signed, Signature=signed["Signature"][:-4]))


@pytest.mark.parametrize("version", ["0", "3", "1.0", "SHA256"])
async def test_unsupported_signature_version_is_refused(
    verifier: SnsSignatureVerifier, signing_identity: SnsSigningIdentity, version: str
) -> None:
    signed = signing_identity.sign(notification("x"))
    error = await refusal(verifier, dict(signed, SignatureVersion=version))
    assert "SignatureVersion" in error.reason


async def test_certificate_url_is_checked_before_the_source_is_asked(
    pinned_dir: Path, signing_identity: SnsSigningIdentity
) -> None:
    source = CountingCertificateSource(PinnedCertificateDirectory(pinned_dir))
    signed = signing_identity.sign(notification("x"))
    evil = signed["SigningCertURL"].replace("amazonaws.com", "amazonaws.com.evil.com")
    await refusal(SnsSignatureVerifier(source), dict(signed, SigningCertURL=evil))
    assert source.requests == []


async def test_missing_pinned_certificate_is_refused(tmp_path: Path, signing_identity: SnsSigningIdentity) -> None:
    error = await refusal(
        SnsSignatureVerifier(PinnedCertificateDirectory(tmp_path)), signing_identity.sign(notification("x"))
    )
    assert signing_identity.certificate_file_name in error.reason


async def test_pinned_file_that_is_not_a_certificate_is_refused(
    tmp_path: Path, signing_identity: SnsSigningIdentity
) -> None:
    (tmp_path / signing_identity.certificate_file_name).write_text("-----BEGIN CERTIFICATE-----\nnope\n")
    await refusal(SnsSignatureVerifier(PinnedCertificateDirectory(tmp_path)), signing_identity.sign(notification("x")))


async def test_message_older_than_max_age_is_refused_as_a_replay(
    pinned_dir: Path, signing_identity: SnsSigningIdentity, now: datetime
) -> None:
    verifier = SnsSignatureVerifier(
        PinnedCertificateDirectory(pinned_dir), max_age=timedelta(hours=1), clock=lambda: now
    )
    await verifier.verify(parsed(signing_identity.sign(notification("x", timestamp=now - timedelta(minutes=59)))))
    error = await refusal(verifier, signing_identity.sign(notification("x", timestamp=now - timedelta(minutes=61))))
    assert "replay" in error.reason


async def test_no_max_age_accepts_old_messages(
    sns_authority: SnsSigningAuthority, tmp_path: Path, now: datetime
) -> None:
    sent = now - timedelta(days=30)
    identity = SnsSigningIdentity.issued_by(sns_authority, not_before=sent - timedelta(days=1))
    identity.pin_in(tmp_path)
    verifier = SnsSignatureVerifier(PinnedCertificateDirectory(tmp_path), max_age=None, clock=lambda: now)
    await verifier.verify(parsed(identity.sign(notification("x", timestamp=sent))))


async def test_message_from_the_future_is_refused(
    pinned_dir: Path, signing_identity: SnsSigningIdentity, now: datetime
) -> None:
    verifier = SnsSignatureVerifier(PinnedCertificateDirectory(pinned_dir), clock=lambda: now)
    await verifier.verify(parsed(signing_identity.sign(notification("x", timestamp=now + timedelta(minutes=4)))))
    error = await refusal(verifier, signing_identity.sign(notification("x", timestamp=now + timedelta(minutes=6))))
    assert "future" in error.reason


@pytest.mark.parametrize("outside", ["before", "after"])
async def test_certificate_not_valid_at_the_message_timestamp_is_refused(
    sns_authority: SnsSigningAuthority, tmp_path: Path, now: datetime, outside: str
) -> None:
    identity = SnsSigningIdentity.issued_by(
        sns_authority, not_before=now - timedelta(days=10), not_after=now - timedelta(days=5)
    )
    identity.pin_in(tmp_path)
    sent = now - timedelta(days=11) if outside == "before" else now - timedelta(days=4)
    verifier = SnsSignatureVerifier(PinnedCertificateDirectory(tmp_path), max_age=None, clock=lambda: now)
    error = await refusal(verifier, identity.sign(notification("x", timestamp=sent)))
    assert "valid from" in error.reason


async def test_certificate_valid_at_the_timestamp_but_expired_now_is_accepted(
    sns_authority: SnsSigningAuthority, tmp_path: Path, now: datetime
) -> None:
    identity = SnsSigningIdentity.issued_by(
        sns_authority, not_before=now - timedelta(days=10), not_after=now - timedelta(minutes=30)
    )
    identity.pin_in(tmp_path)
    verifier = SnsSignatureVerifier(PinnedCertificateDirectory(tmp_path), clock=lambda: now)
    await verifier.verify(parsed(identity.sign(notification("x", timestamp=now - timedelta(minutes=40)))))


@pytest.mark.parametrize("common_name", ["evil.example.com", "sns.amazonaws.com.evil.com", "s3.amazonaws.com"])
async def test_certificate_not_issued_to_sns_is_refused(
    sns_authority: SnsSigningAuthority, tmp_path: Path, common_name: str
) -> None:
    identity = SnsSigningIdentity.issued_by(sns_authority, common_name=common_name)
    identity.pin_in(tmp_path)
    error = await refusal(SnsSignatureVerifier(PinnedCertificateDirectory(tmp_path)), identity.sign(notification("x")))
    assert "not to Amazon SNS" in error.reason


@pytest.mark.parametrize("common_name", ["sns.us-east-1.amazonaws.com", "sns-signing.eu-west-1.amazonaws.com"])
async def test_regional_sns_certificate_names_are_accepted(
    sns_authority: SnsSigningAuthority, tmp_path: Path, common_name: str
) -> None:
    identity = SnsSigningIdentity.issued_by(sns_authority, common_name=common_name)
    identity.pin_in(tmp_path)
    await SnsSignatureVerifier(PinnedCertificateDirectory(tmp_path)).verify(parsed(identity.sign(notification("x"))))


async def test_certificate_without_an_rsa_key_is_refused(
    sns_authority: SnsSigningAuthority, tmp_path: Path, signing_identity: SnsSigningIdentity
) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    _, certificate = sns_authority.issue("sns.amazonaws.com", key=ec_key)  # type: ignore[arg-type]
    (tmp_path / signing_identity.certificate_file_name).write_bytes(
        SnsSigningIdentity(ec_key, certificate, certificate_id=signing_identity.certificate_id).certificate_pem()  # type: ignore[arg-type]
    )
    error = await refusal(
        SnsSignatureVerifier(PinnedCertificateDirectory(tmp_path)), signing_identity.sign(notification("x"))
    )
    assert "RSA" in error.reason


async def test_certificate_is_loaded_once_for_many_messages(
    pinned_dir: Path, signing_identity: SnsSigningIdentity
) -> None:
    source = CountingCertificateSource(PinnedCertificateDirectory(pinned_dir))
    verifier = SnsSignatureVerifier(source)
    messages = [parsed(signing_identity.sign(notification(str(n)), "2")) for n in range(20)]
    await asyncio.gather(*(verifier.verify(message) for message in messages[:10]))
    for message in messages[10:]:
        await verifier.verify(message)
    assert source.requests == [signing_identity.signing_cert_url]


async def test_failed_certificate_load_is_not_remembered(tmp_path: Path, signing_identity: SnsSigningIdentity) -> None:
    verifier = SnsSignatureVerifier(PinnedCertificateDirectory(tmp_path))
    message = parsed(signing_identity.sign(notification("x")))
    await refusal(verifier, signing_identity.sign(notification("x")))
    signing_identity.pin_in(tmp_path)
    await verifier.verify(message)


async def test_verifier_uses_the_wall_clock_by_default(
    verifier: SnsSignatureVerifier, signing_identity: SnsSigningIdentity
) -> None:
    await verifier.verify(parsed(signing_identity.sign(notification("x", timestamp=datetime.now(UTC)))))


@pytest.mark.parametrize(
    "signature", [b"\x00", b"\x00" * 256, b"\xff" * 256, b"\xff" * 300], ids=["1", "zeros", "above-modulus", "300"]
)
async def test_signature_of_any_length_or_value_is_refused_cleanly(
    verifier: SnsSignatureVerifier, signing_identity: SnsSigningIdentity, signature: bytes
) -> None:
    signed = signing_identity.sign(notification("x"))
    await refusal(verifier, dict(signed, Signature=base64.b64encode(signature).decode()))
