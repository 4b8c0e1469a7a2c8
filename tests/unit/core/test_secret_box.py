import pytest

from services.core.log import redact
from services.core.secret_box import SecretBox, SecretBoxError, generate_key_spec


def test_seal_and_open_round_trip_without_the_plaintext_in_the_ciphertext():
    box = SecretBox.from_spec(generate_key_spec("k1"))
    sealed = box.seal("smtp-password-123", "acme/p1/smtp_password")
    assert b"smtp-password-123" not in sealed
    assert box.open(sealed, "acme/p1/smtp_password") == "smtp-password-123"
    assert box.key_id_of(sealed) == "k1"


def test_a_ciphertext_moved_to_another_record_does_not_open():
    box = SecretBox.from_spec(generate_key_spec())
    sealed = box.seal("pw-value", "acme/p1/smtp_password")
    with pytest.raises(SecretBoxError):
        box.open(sealed, "mallory/p1/smtp_password")


def test_a_flipped_bit_does_not_open():
    box = SecretBox.from_spec(generate_key_spec())
    sealed = bytearray(box.seal("pw-value", "a"))
    sealed[-1] ^= 1
    with pytest.raises(SecretBoxError):
        box.open(bytes(sealed), "a")


def test_rotation_new_key_seals_old_key_still_opens():
    old, new = generate_key_spec("k1"), generate_key_spec("k2")
    sealed_before = SecretBox.from_spec(old).seal("pw-before", "a")
    rotated = SecretBox.from_spec(f"{new},{old}")
    assert rotated.open(sealed_before, "a") == "pw-before"
    assert rotated.key_id_of(rotated.seal("pw-after", "a")) == "k2"
    with pytest.raises(SecretBoxError, match="k2"):
        SecretBox.from_spec(old).open(rotated.seal("pw-after", "a"), "a")


@pytest.mark.parametrize("spec", ["", "nokey", "k1:", "k1:not-base64!!", "k1:c2hvcnQ="])
def test_bad_key_specs_are_refused_with_a_reason(spec):
    with pytest.raises(SecretBoxError):
        SecretBox.from_spec(spec)


def test_every_secret_the_box_handles_is_masked_in_logs():
    box = SecretBox.from_spec(generate_key_spec())
    box.open(box.seal("hunter2-unique-value", "a"), "a")
    assert redact("login failed for hunter2-unique-value") == "login failed for [redacted]"
