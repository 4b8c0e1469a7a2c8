import time
import uuid

from hypothesis import given, strategies as st

from services.core.ids import is_subject_token, name_based_id, normalize_email, recipient_hash, uuid7


def test_uuid7_has_version_7_and_the_rfc_variant():
    value = uuid7()
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_carries_the_current_unix_milliseconds_and_sorts_by_time():
    before = time.time_ns() // 1_000_000
    values = [uuid7() for _ in range(50)]
    after = time.time_ns() // 1_000_000
    for value in values:
        assert before <= value.int >> 80 <= after
    later = uuid7() if (time.sleep(0.002) or True) else None
    assert all(str(v) < str(later) for v in values)


def test_uuid7_values_are_unique():
    assert len({uuid7() for _ in range(10_000)}) == 10_000


def test_name_based_ids_are_stable_and_distinct():
    assert name_based_id("acme", "key-1") == name_based_id("acme", "key-1")
    assert name_based_id("acme", "key-1") != name_based_id("acme", "key-2")
    assert name_based_id("a", "bc") != name_based_id("ab", "c")
    assert is_subject_token(name_based_id("acme", "key-1"))


def test_recipient_hash_is_subject_safe_and_ignores_case_and_spaces():
    assert recipient_hash(" Bob@Example.COM ") == recipient_hash("bob@example.com")
    assert is_subject_token(recipient_hash("bob@example.com"))
    assert "@" not in recipient_hash("bob@example.com")
    assert normalize_email(" Bob@Example.COM ") == "bob@example.com"


@given(st.text())
def test_only_safe_tokens_pass(token):
    if is_subject_token(token):
        assert not set(token) & set(". *>\n\r\t") and 1 <= len(token) <= 128
