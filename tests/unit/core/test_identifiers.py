"""Identifier and header-name checks must not let a trailing newline through (Python's `$` does)."""

import pytest

from services.core.ids import is_identifier
from services.core.unsubscribe_token import InvalidUnsubscribeToken, UnsubscribeTokens
from services.core.secret_box import generate_key_spec
from services.dispatch.domain import identity_violations as dispatch_identity
from services.unsubscribe.domain import account_violations
from services.config.domain import identity_violations as config_identity


@pytest.mark.parametrize("value", ["acme\n", "acme\r\n", "", "a" * 65, "-acme", "acme.corp", "ac me"])
def test_bad_identifiers_are_refused_everywhere(value):
    assert not is_identifier(value)
    assert config_identity(value, "", provider_required=False)
    assert dispatch_identity(value, "provider-1")
    assert account_violations(value)


def test_good_identifiers_pass():
    assert is_identifier("acme") and is_identifier("01a218c6-0fe8-7a9f-a107-f8681fde3ef0")


def test_an_unsubscribe_token_with_a_trailing_newline_is_refused():
    from datetime import datetime, timezone

    tokens = UnsubscribeTokens.from_spec(generate_key_spec("u1"))
    now = datetime.now(timezone.utc)
    token = tokens.issue("acme", "a@example.com", issued_at=now)
    with pytest.raises(InvalidUnsubscribeToken):
        tokens.verify(token + "\n", now)
