"""Real SNS messages signed by AWS verify, and stop verifying once anything signed changes."""

import json
from datetime import datetime
from pathlib import Path

import pytest

from services.feedback.sns_message import SnsMessageError, parse_sns_message
from services.feedback.sns_verifier import PinnedCertificateDirectory, SnsSignatureVerifier, canonical_string

NOTIFICATION_SIGNED_FIELDS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CHANGED_AT = ["first", "middle", "last"]


def read_vector(path: Path) -> dict:
    return json.loads(path.read_text())


def verifier_at(moment: datetime, cert_dir: Path) -> SnsSignatureVerifier:
    """The certificate beside the vectors expired in 2022: run the clock at the message's time."""
    return SnsSignatureVerifier(PinnedCertificateDirectory(cert_dir), clock=lambda: moment)


async def verify(fields: dict, cert_dir: Path, *, clock_from: dict | None = None) -> None:
    """Parse and verify `fields` as SNS would post them; the clock runs at `clock_from`'s time."""
    original = parse_sns_message(json.dumps(clock_from or fields).encode(), {"x-amz-sns-message-type": "Notification"})
    message = parse_sns_message(json.dumps(fields).encode(), {"x-amz-sns-message-type": "Notification"})
    await verifier_at(original.timestamp, cert_dir).verify(message)


def with_one_character_changed(text: str, where: str) -> str:
    position = {"first": 0, "middle": len(text) // 2, "last": len(text) - 1}[where]
    return text[:position] + _another_character_like(text[position]) + text[position + 1 :]


def _another_character_like(character: str) -> str:
    # Stay in the same character class so a Timestamp or id keeps its shape and the signature is what fails.
    for alphabet in ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if character in alphabet:
            return alphabet[(alphabet.index(character) + 1) % len(alphabet)]
    return "x"


async def test_vector_verifies_with_the_pinned_certificate(sns_vector: Path, pinned_sns_cert_dir: Path) -> None:
    await verify(read_vector(sns_vector), pinned_sns_cert_dir)


@pytest.mark.parametrize("field", NOTIFICATION_SIGNED_FIELDS)
@pytest.mark.parametrize("where", CHANGED_AT)
async def test_vector_fails_when_a_signed_field_changes_by_one_character(
    sns_vector: Path, pinned_sns_cert_dir: Path, field: str, where: str
) -> None:
    original = read_vector(sns_vector)
    changed = dict(original)
    if field in original:
        changed[field] = with_one_character_changed(original[field], where)
    else:
        changed[field] = "x"  # a Subject the message was not signed with
    with pytest.raises(SnsMessageError):
        await verify(changed, pinned_sns_cert_dir, clock_from=original)


@pytest.mark.parametrize("where", CHANGED_AT[:2])
async def test_vector_fails_when_the_signature_changes(sns_vector: Path, pinned_sns_cert_dir: Path, where: str) -> None:
    original = read_vector(sns_vector)
    changed = dict(original, Signature=with_one_character_changed(original["Signature"], where))
    with pytest.raises(SnsMessageError):
        await verify(changed, pinned_sns_cert_dir, clock_from=original)


async def test_vector_fails_when_the_signature_loses_its_spare_bits(
    sns_vector: Path, pinned_sns_cert_dir: Path
) -> None:
    # The last character before "==" carries 4 unused bits; a lenient decoder maps both spellings alike.
    original = read_vector(sns_vector)
    signature = original["Signature"]
    body, padding = signature.rstrip("="), "=" * (len(signature) - len(signature.rstrip("=")))
    respelled = body[:-1] + _another_character_like(body[-1]) + padding
    with pytest.raises(SnsMessageError):
        await verify(dict(original, Signature=respelled), pinned_sns_cert_dir, clock_from=original)


@pytest.mark.parametrize("version", ["", "0", "3", "11", "v2", " 1"])
async def test_vector_fails_with_another_signature_version(
    sns_vector: Path, pinned_sns_cert_dir: Path, version: str
) -> None:
    original = read_vector(sns_vector)
    with pytest.raises(SnsMessageError):
        await verify(dict(original, SignatureVersion=version), pinned_sns_cert_dir, clock_from=original)


async def test_vector_fails_with_the_other_supported_signature_version(
    sns_vector: Path, pinned_sns_cert_dir: Path
) -> None:
    original = read_vector(sns_vector)
    swapped = {"1": "2", "2": "1"}[original["SignatureVersion"]]
    with pytest.raises(SnsMessageError, match="signature does not match"):
        await verify(dict(original, SignatureVersion=swapped), pinned_sns_cert_dir)


async def test_vector_is_refused_as_a_replay_at_the_wall_clock(sns_vector: Path, pinned_sns_cert_dir: Path) -> None:
    message = parse_sns_message(sns_vector.read_bytes(), {"x-amz-sns-message-type": "Notification"})
    with pytest.raises(SnsMessageError, match="replay"):
        await SnsSignatureVerifier(PinnedCertificateDirectory(pinned_sns_cert_dir)).verify(message)


async def test_vector_dated_after_its_certificate_expired_is_refused(
    sns_vector: Path, pinned_sns_cert_dir: Path
) -> None:
    moved = dict(read_vector(sns_vector), Timestamp="2022-08-18T00:00:00.000Z")
    with pytest.raises(SnsMessageError, match="valid from"):
        await verify(moved, pinned_sns_cert_dir)


def test_canonical_string_of_a_vector_with_subject_follows_the_documented_order(sns_vectors_dir: Path) -> None:
    path = sns_vectors_dir / "notification-v1-subject.json"
    message = parse_sns_message(path.read_bytes(), {"x-amz-sns-message-type": "Notification"})
    assert canonical_string(message) == (
        b"Message\nHello world\n"
        b"MessageId\n11405cc3-9ac7-56d5-b45d-079e8f7a8edf\n"
        b"Subject\nHello world\n"
        b"Timestamp\n2022-07-28T22:53:49.654Z\n"
        b"TopicArn\narn:aws:sns:us-east-2:295079676684:publish-and-verify-6e11fed2-fcdf-4c52-9dc4-36ef43f37f84\n"
        b"Type\nNotification\n"
    )
