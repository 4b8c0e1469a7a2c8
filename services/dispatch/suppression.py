"""Who must never be mailed (pure): hard bounces, complaints, repeated soft bounces, unsubscribes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

HARD_BOUNCE = "hard_bounce"
COMPLAINT = "complaint"
SOFT_BOUNCES = "soft_bounces"
UNSUBSCRIBED = "unsubscribed"
GLOBAL = ""                       # list_id of a suppression that covers every list

# A recipient suppressed for several reasons is reported with the gravest.
_GRAVITY = {HARD_BOUNCE: 0, COMPLAINT: 1, SOFT_BOUNCES: 2, UNSUBSCRIBED: 3}


@dataclass(frozen=True)
class SuppressionEntry:
    reason: str
    list_id: str = GLOBAL


def bounce_reason(bounce_type: str) -> str | None:
    """SES bounce types: Permanent suppresses at once; Transient and Undetermined are soft."""
    return HARD_BOUNCE if bounce_type == "Permanent" else None


def soft_bounces_exceed(bounce_times: list[datetime], at: datetime, *, threshold: int, window_days: int) -> bool:
    """Whether the soft bounces in the window ending at `at` (event times, never the clock) reach the threshold."""
    start = at - timedelta(days=window_days)
    return threshold > 0 and sum(1 for t in bounce_times if start < t <= at) >= threshold


def suppression_reason(entries: list[SuppressionEntry], list_id: str) -> str | None:
    """Why mail for `list_id` must not go to a recipient with these entries, or None."""
    applicable = [e.reason for e in entries if e.list_id == GLOBAL or e.list_id == list_id]
    return min(applicable, key=_GRAVITY.__getitem__) if applicable else None


def lifted_by_resubscribe(entry: SuppressionEntry, list_id: str) -> bool:
    """A resubscribe is the recipient's own consent: it lifts unsubscribes (one list, or all when
    global), never a bounce or complaint, which say the address cannot or must not receive mail."""
    return entry.reason == UNSUBSCRIBED and (list_id == GLOBAL or entry.list_id == list_id)
