"""The listing filter's checks and the page cursor (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from services.core.errors import InvalidArgument
from services.core.ids import recipient_hash
from services.dispatch import listing


def test_a_filter_normalises_the_recipient_and_splits_the_tag():
    wanted = listing.dispatch_filter(statuses=("FAILED", "FAILED"), recipient="Bob@Example.org", tag="campaign=a=b")
    assert wanted.statuses == ("FAILED",)
    assert wanted.recipient_hash == recipient_hash("bob@example.org")
    assert (wanted.tag_name, wanted.tag_value) == ("campaign", "a=b")
    assert listing.dispatch_filter(tag="campaign").tag_value is None
    assert listing.dispatch_filter(tag="campaign=").tag_value == ""


@pytest.mark.parametrize(
    "fields, field",
    [
        (dict(statuses=("LOST",)), "filter.statuses"),
        (dict(recipient="bob"), "filter.recipient"),
        (dict(tag="=spring"), "filter.tag"),
        (dict(queued_after_ms=10, queued_before_ms=10), "filter.queued_before"),
    ],
)
def test_a_wrong_filter_names_its_field(fields, field):
    with pytest.raises(InvalidArgument) as refused:
        listing.dispatch_filter(**fields)
    assert [v.field for v in refused.value.violations] == [field]


@given(st.integers(min_value=0, max_value=2**63))
def test_a_page_token_gives_back_its_sequence(seq):
    assert listing.decode_page_token(listing.encode_page_token(seq)) == seq


@pytest.mark.parametrize("token", ["x", "YmVmb3JlOmFi", "!!!!"])
def test_a_foreign_page_token_is_refused(token):
    with pytest.raises(InvalidArgument):
        listing.decode_page_token(token)


def test_page_sizes_default_and_cap():
    assert listing.page_size(0) == listing.DEFAULT_PAGE_SIZE and listing.page_size(10**6) == listing.MAX_PAGE_SIZE


def test_one_retry_key_names_one_retry_per_original():
    assert listing.retry_idempotency_key("k", "d1") == listing.retry_idempotency_key("k", "d1")
    assert listing.retry_idempotency_key("k", "d1") != listing.retry_idempotency_key("k", "d2")
