"""Suppression decisions (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.dispatch import suppression
from services.dispatch.suppression import SuppressionEntry

T = datetime(2026, 3, 1, tzinfo=timezone.utc)


def test_permanent_bounces_are_hard_the_rest_soft():
    assert suppression.bounce_reason("Permanent") == suppression.HARD_BOUNCE
    assert suppression.bounce_reason("Transient") is None
    assert suppression.bounce_reason("Undetermined") is None


def test_soft_bounces_suppress_at_the_threshold_within_the_window():
    times = [T - timedelta(days=20), T - timedelta(days=1), T]
    assert suppression.soft_bounces_exceed(times, T, threshold=3, window_days=30)
    assert not suppression.soft_bounces_exceed(times, T, threshold=3, window_days=10)
    assert not suppression.soft_bounces_exceed(times[1:], T, threshold=3, window_days=30)
    assert not suppression.soft_bounces_exceed([T + timedelta(days=1)] * 3, T, threshold=3, window_days=30)


def test_a_list_unsubscribe_applies_to_that_list_only():
    entries = [SuppressionEntry(suppression.UNSUBSCRIBED, "news")]
    assert suppression.suppression_reason(entries, "news") == suppression.UNSUBSCRIBED
    assert suppression.suppression_reason(entries, "offers") is None
    assert suppression.suppression_reason(entries, "") is None


def test_global_entries_apply_to_every_list_and_the_gravest_reason_wins():
    entries = [SuppressionEntry(suppression.UNSUBSCRIBED), SuppressionEntry(suppression.COMPLAINT),
               SuppressionEntry(suppression.HARD_BOUNCE)]
    assert suppression.suppression_reason(entries, "news") == suppression.HARD_BOUNCE
    assert suppression.suppression_reason([], "news") is None


def test_a_resubscribe_lifts_unsubscribes_only():
    assert suppression.lifted_by_resubscribe(SuppressionEntry(suppression.UNSUBSCRIBED, "news"), "news")
    assert suppression.lifted_by_resubscribe(SuppressionEntry(suppression.UNSUBSCRIBED, "news"), "")
    assert not suppression.lifted_by_resubscribe(SuppressionEntry(suppression.UNSUBSCRIBED, "news"), "offers")
    assert not suppression.lifted_by_resubscribe(SuppressionEntry(suppression.HARD_BOUNCE), "")
