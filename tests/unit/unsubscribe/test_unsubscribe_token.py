"""Unsubscribe tokens: round trip, no readable address, and every change refused."""

import base64
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from services.core.ids import recipient_hash
from services.core.secret_box import generate_key_spec
from services.core.unsubscribe_token import (
    InvalidUnsubscribeToken,
    UnsubscribeKeyError,
    UnsubscribeTokens,
    list_unsubscribe_headers,
    max_age_from_days,
)

ISSUED = datetime(2025, 3, 1, 12, 30, 15, tzinfo=UTC)
LATER = ISSUED + timedelta(days=400)
ACCOUNT = "0190f2d4-8c4e-7a11-9b2e-6f0e4c7d1a22"
SPEC = generate_key_spec("u1")
TOKENS = UnsubscribeTokens.from_spec(SPEC)
TOKEN = TOKENS.issue(ACCOUNT, " Alice.Smith@Example.COM ", "weekly-news", "disp-1", issued_at=ISSUED)
BASE64URL = string.ascii_letters + string.digits + "-_"


def test_round_trip_gives_normalised_claims():
    claims = TOKENS.verify(TOKEN, now=LATER)
    assert claims.account_id == ACCOUNT
    assert claims.email == "alice.smith@example.com"
    assert claims.recipient_hash == recipient_hash("alice.smith@example.com")
    assert (claims.list_id, claims.dispatch_id, claims.issued_at) == ("weekly-news", "disp-1", ISSUED)


def test_token_is_url_safe_and_carries_no_readable_address():
    assert set(TOKEN) <= set(BASE64URL)
    raw = base64.urlsafe_b64decode(TOKEN + "=" * (-len(TOKEN) % 4))
    for secret in (b"alice", b"example", b"weekly-news", ACCOUNT.encode()):
        assert secret not in raw.lower()
        assert secret.decode() not in TOKEN.lower()


def test_global_token_without_list_or_dispatch():
    claims = TOKENS.verify(TOKENS.issue(ACCOUNT, "bob@example.com", issued_at=ISSUED), now=ISSUED)
    assert (claims.list_id, claims.dispatch_id) == ("", "")


def test_tokens_do_not_expire_by_default_but_can():
    assert max_age_from_days(0) is None
    TOKENS.verify(TOKEN, now=ISSUED + timedelta(days=3650), max_age=max_age_from_days(0))
    TOKENS.verify(TOKEN, now=ISSUED + timedelta(days=30), max_age=max_age_from_days(30))
    with pytest.raises(InvalidUnsubscribeToken):
        TOKENS.verify(TOKEN, now=ISSUED + timedelta(days=30, seconds=1), max_age=max_age_from_days(30))


def test_rotation_first_key_issues_every_key_verifies():
    new_spec = generate_key_spec("u2")
    rotated = UnsubscribeTokens.from_spec(f"{new_spec},{SPEC}")
    assert rotated.verify(TOKEN, now=LATER).email == "alice.smith@example.com"
    fresh = rotated.issue(ACCOUNT, "carol@example.com", issued_at=ISSUED)
    assert rotated.issuing_kid == "u2"
    with pytest.raises(InvalidUnsubscribeToken):
        TOKENS.verify(fresh, now=LATER)  # u2 unknown to the old keyring


def test_rekeyed_token_same_kid_other_secret_is_refused():
    other = UnsubscribeTokens.from_spec(generate_key_spec("u1"))
    with pytest.raises(InvalidUnsubscribeToken):
        other.verify(TOKEN, now=LATER)


@pytest.mark.parametrize(
    "spec",
    ["", "   ", "nokey", "u1:", "u1:!!!", "u1:" + "QUJD", pytest.param("bad kid:" + SPEC[3:], id="bad kid:<key>")],
)
def test_bad_key_specs_are_refused_with_a_reason(spec):
    with pytest.raises(UnsubscribeKeyError, match="POSTROOM_UNSUBSCRIBE_KEY"):
        UnsubscribeTokens.from_spec(spec)


# Ids are named, not made from TOKEN: its key is random, and pytest-xdist needs every worker to
# collect the same test ids.
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("", id="empty"),
        pytest.param("=", id="padding"),
        pytest.param("a", id="one char"),
        pytest.param("u1", id="key id"),
        pytest.param(TOKEN[:-1], id="last char cut"),
        pytest.param(TOKEN[:-4], id="last 4 cut"),
        pytest.param(TOKEN + "A", id="char added"),
        pytest.param(TOKEN + "=", id="padded"),
        pytest.param(TOKEN + "==", id="padded twice"),
        pytest.param(TOKEN[1:], id="first char cut"),
        pytest.param("x" * 5000, id="5000 chars"),
        pytest.param(TOKEN.upper(), id="upper case"),
        pytest.param(f" {TOKEN}", id="leading space"),
    ],
)
def test_malformed_and_truncated_tokens_are_refused(bad):
    with pytest.raises(InvalidUnsubscribeToken):
        TOKENS.verify(bad, now=LATER)


def test_non_string_token_is_refused():
    with pytest.raises(InvalidUnsubscribeToken):
        TOKENS.verify(None, now=LATER)  # type: ignore[arg-type]


def test_every_truncation_is_refused():
    for length in range(len(TOKEN)):
        with pytest.raises(InvalidUnsubscribeToken):
            TOKENS.verify(TOKEN[:length], now=LATER)


def test_every_single_base64_substitution_is_refused():
    """Exhaustive over the alphabet: includes the last character, whose spare bits a lax decoder ignores."""
    for position in range(len(TOKEN)):
        for char in BASE64URL:
            if char != TOKEN[position]:
                with pytest.raises(InvalidUnsubscribeToken):
                    TOKENS.verify(TOKEN[:position] + char + TOKEN[position + 1 :], now=LATER)


@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_single_character_change_is_refused(data):
    position = data.draw(st.integers(0, len(TOKEN) - 1))
    replacement = data.draw(st.characters().filter(lambda c: c != TOKEN[position]))
    with pytest.raises(InvalidUnsubscribeToken):
        TOKENS.verify(TOKEN[:position] + replacement + TOKEN[position + 1 :], now=LATER)


@hypothesis_settings(max_examples=200, deadline=None)
@given(position=st.integers(0, len(TOKEN)), inserted=st.characters())
def test_any_single_character_insertion_is_refused(position, inserted):
    with pytest.raises(InvalidUnsubscribeToken):
        TOKENS.verify(TOKEN[:position] + inserted + TOKEN[position:], now=LATER)


@hypothesis_settings(max_examples=100, deadline=None)
@given(
    account=st.text(max_size=60),
    email=st.emails(),
    list_id=st.text(max_size=40),
    dispatch_id=st.text(max_size=40),
    seconds=st.integers(0, 4_000_000_000),
)
def test_round_trip_for_any_claims(account, email, list_id, dispatch_id, seconds):
    issued = datetime.fromtimestamp(seconds, tz=UTC)
    claims = TOKENS.verify(TOKENS.issue(account, email, list_id, dispatch_id, issued_at=issued), now=issued)
    assert (claims.account_id, claims.list_id, claims.dispatch_id, claims.issued_at) == (
        account,
        list_id,
        dispatch_id,
        issued,
    )
    assert claims.recipient_hash == recipient_hash(email)


def test_list_unsubscribe_headers_with_mailto():
    headers = list_unsubscribe_headers("https://u.example.test/", TOKEN, "unsubscribe@example.test")
    assert headers == {
        "List-Unsubscribe": f"<https://u.example.test/u/{TOKEN}>, "
        "<mailto:unsubscribe@example.test?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_list_unsubscribe_headers_without_mailto():
    headers = list_unsubscribe_headers("https://u.example.test", TOKEN)
    assert headers["List-Unsubscribe"] == f"<https://u.example.test/u/{TOKEN}>"
