"""The one suppression rule (pure): reasons, their rank, soft bounces in event time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.core.suppression_rule import (
    GLOBAL,
    SES_REASON_NAMES,
    Reason,
    SuppressionEntry,
    bounce_reason,
    gravest,
    gravest_entry,
    lifted_by_resubscribe,
    ses_list_reason,
    soft_bounces_in_window,
    soft_bounces_suppress_since,
    suppression_reason,
)

T = datetime(2026, 3, 1, tzinfo=timezone.utc)


def test_permanent_bounces_are_hard_the_rest_soft():
    assert bounce_reason("Permanent") is Reason.HARD_BOUNCE
    assert bounce_reason("Transient") is None
    assert bounce_reason("Undetermined") is None


def test_a_complaint_outranks_a_hard_bounce_which_outranks_ses_list_and_soft_bounces():
    assert gravest([Reason.HARD_BOUNCE, Reason.COMPLAINT]) is Reason.COMPLAINT
    assert gravest(["unsubscribed", "soft_bounces", "ses_bounce", "hard_bounce"]) is Reason.HARD_BOUNCE
    assert gravest([Reason.SES_BOUNCE, Reason.SES_COMPLAINT]) is Reason.SES_COMPLAINT
    assert gravest([Reason.UNSUBSCRIBED, Reason.SOFT_BOUNCES]) is Reason.SOFT_BOUNCES
    assert gravest([]) is None


def test_ses_list_reasons_map_to_their_own_names():
    assert ses_list_reason("BOUNCE") is Reason.SES_BOUNCE
    assert ses_list_reason("COMPLAINT") is Reason.SES_COMPLAINT
    assert ses_list_reason("SOMETHING_NEW") is None
    assert SES_REASON_NAMES == ("COMPLAINT", "BOUNCE")


def test_soft_bounces_suppress_from_the_one_that_makes_the_threshold_within_the_window():
    times = [T - timedelta(days=20), T - timedelta(days=1), T]
    assert soft_bounces_suppress_since(times, threshold=3, window_days=30) == T
    assert soft_bounces_suppress_since(times, threshold=3, window_days=20) is None  # 20 days apart is outside
    assert soft_bounces_suppress_since(times, threshold=2, window_days=10) == T
    assert soft_bounces_suppress_since(times[1:], threshold=3, window_days=30) is None
    assert soft_bounces_suppress_since(times, threshold=0, window_days=30) is None


def test_soft_bounces_count_the_same_in_any_order_and_never_expire_by_the_clock():
    times = [T, T - timedelta(days=40), T - timedelta(days=2), T - timedelta(days=41)]
    since = soft_bounces_suppress_since(times, threshold=2, window_days=3)
    assert since == soft_bounces_suppress_since(list(reversed(times)), threshold=2, window_days=3)
    assert since == T - timedelta(days=40)  # the first pair, 1 day apart, suppressed for good


def test_soft_bounces_in_window_count_back_from_the_newest():
    times = [T - timedelta(days=40), T - timedelta(days=2), T]
    assert soft_bounces_in_window(times, window_days=30) == 2
    assert soft_bounces_in_window([], window_days=30) == 0


def test_a_list_unsubscribe_applies_to_that_list_only():
    entries = [SuppressionEntry(Reason.UNSUBSCRIBED, "news")]
    assert suppression_reason(entries, "news") is Reason.UNSUBSCRIBED
    assert suppression_reason(entries, "offers") is None
    assert suppression_reason(entries, GLOBAL) is None


def test_global_entries_apply_to_every_list_and_the_gravest_reason_wins():
    entries = [
        SuppressionEntry(Reason.UNSUBSCRIBED),
        SuppressionEntry(Reason.COMPLAINT),
        SuppressionEntry(Reason.HARD_BOUNCE),
    ]
    assert suppression_reason(entries, "news") is Reason.COMPLAINT
    assert suppression_reason([], "news") is None


def test_the_gravest_entry_carries_its_date():
    entries = [SuppressionEntry(Reason.SES_BOUNCE, since=T), SuppressionEntry(Reason.UNSUBSCRIBED, "news")]
    assert gravest_entry(entries, "news") == SuppressionEntry(Reason.SES_BOUNCE, since=T)
    assert gravest_entry([SuppressionEntry(Reason.UNSUBSCRIBED, "news")], "offers") is None


@pytest.mark.parametrize(
    "entry, list_id, lifted",
    [
        (SuppressionEntry(Reason.UNSUBSCRIBED, "news"), "news", True),
        (SuppressionEntry(Reason.UNSUBSCRIBED, "news"), GLOBAL, True),
        (SuppressionEntry(Reason.UNSUBSCRIBED, "news"), "offers", False),
        (SuppressionEntry(Reason.HARD_BOUNCE), GLOBAL, False),
        (SuppressionEntry(Reason.SES_BOUNCE), GLOBAL, False),
    ],
)
def test_a_resubscribe_lifts_unsubscribes_only(entry, list_id, lifted):
    assert lifted_by_resubscribe(entry, list_id) is lifted
