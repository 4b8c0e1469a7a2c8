"""Who must never be mailed, and why: the one suppression rule that dispatch (which refuses to send)
and feedback (which reports a recipient's status) both apply, so they give the same answer (pure).

Soft bounces count in event time: N of them within any W days of each other, by the times SES
reported, suppress for good. Event time, not the clock, because the answer must not change by
itself as days pass, and a replay must rebuild what the live model held.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

GLOBAL = ""  # list_id of a suppression that covers every list
HARD_BOUNCE_TYPE = "Permanent"  # SES's bounceType that suppresses at once; Transient, Undetermined are soft


class Reason(StrEnum):
    """Declared gravest first: a recipient suppressed for several reasons is reported with the first.

    A complaint ranks above a hard bounce: it is a person's decision, and SES reviews an account at
    a complaint rate fifty times lower than its bounce rate. Postroom's own evidence ranks above
    SES's account-level suppression list, whose entries may predate Postroom or come from other
    senders on the same account.
    """

    COMPLAINT = "complaint"
    HARD_BOUNCE = "hard_bounce"
    SES_COMPLAINT = "ses_complaint"  # on SES's suppression list for a complaint
    SES_BOUNCE = "ses_bounce"  # on SES's suppression list for a bounce
    SOFT_BOUNCES = "soft_bounces"
    UNSUBSCRIBED = "unsubscribed"


_RANK = {reason: rank for rank, reason in enumerate(Reason)}
_SES_LIST_REASONS = {"COMPLAINT": Reason.SES_COMPLAINT, "BOUNCE": Reason.SES_BOUNCE}
SES_LIST_REASONS = frozenset(_SES_LIST_REASONS.values())
SES_REASON_NAMES = tuple(_SES_LIST_REASONS)  # SESv2 SuppressionListReason values


@dataclass(frozen=True)
class SuppressionEntry:
    reason: str
    list_id: str = GLOBAL
    since: datetime | None = None


def bounce_reason(bounce_type: str) -> Reason | None:
    """SES bounce types: Permanent suppresses at once; Transient and Undetermined are soft."""
    return Reason.HARD_BOUNCE if is_hard_bounce(bounce_type) else None


def is_hard_bounce(bounce_type: str) -> bool:
    return bounce_type == HARD_BOUNCE_TYPE


def ses_list_reason(ses_reason: str) -> Reason | None:
    """The reason an entry of SES's suppression list (SESv2 `Reason`: BOUNCE or COMPLAINT) carries here."""
    return _SES_LIST_REASONS.get(ses_reason)


def gravest(reasons: Iterable[str]) -> Reason | None:
    ranked = [Reason(reason) for reason in reasons]
    return min(ranked, key=_RANK.__getitem__) if ranked else None


def suppression_reason(entries: Iterable[SuppressionEntry], list_id: str) -> Reason | None:
    """Why mail for `list_id` must not go to a recipient with these entries, or None."""
    entry = gravest_entry(entries, list_id)
    return Reason(entry.reason) if entry else None


def gravest_entry(entries: Iterable[SuppressionEntry], list_id: str) -> SuppressionEntry | None:
    """The entry that says why mail for `list_id` must not go to the recipient, or None."""
    applicable = [e for e in entries if e.list_id == GLOBAL or e.list_id == list_id]
    return min(applicable, key=lambda e: _RANK[Reason(e.reason)]) if applicable else None


def soft_bounces_suppress_since(
    bounce_times: Iterable[datetime], *, threshold: int, window_days: int
) -> datetime | None:
    """The time of the soft bounce that made `threshold` of them within `window_days`, or None.

    Independent of the order the bounces arrived in: SNS may deliver an older one later.
    """
    if threshold <= 0:
        return None
    times = sorted(bounce_times)
    window = timedelta(days=window_days)
    for last in range(threshold - 1, len(times)):
        if times[last] - times[last - threshold + 1] < window:
            return times[last]
    return None


def soft_bounces_in_window(bounce_times: Iterable[datetime], *, window_days: int) -> int:
    """How many soft bounces lie within `window_days` up to the newest one (event time)."""
    times = list(bounce_times)
    if not times:
        return 0
    newest = max(times)
    return sum(1 for t in times if newest - t < timedelta(days=window_days))


def feedback_once_key(sns_message_id: str, event_id: str) -> str:
    """What makes two feedback events of one recipient the same: SNS gives a retried delivery the
    same MessageId, which counts once; an event that came without one (not from SNS) is its own."""
    return sns_message_id or f"event:{event_id}"


def lifted_by_resubscribe(entry: SuppressionEntry, list_id: str) -> bool:
    """A resubscribe is the recipient's own consent: it lifts unsubscribes (one list, or all when
    global), never a bounce or complaint, which say the address cannot or must not receive mail.
    (An entry of SES's list is lifted only by removing it from SES: `SesSuppressionRemoved`.)"""
    return entry.reason == Reason.UNSUBSCRIBED and (list_id == GLOBAL or entry.list_id == list_id)
