"""Feedback rules (pure): which SNS topics a provider accepts, which events SES feedback becomes,
and the rates SES itself watches.

SES puts an account under review at a 5% bounce rate or a 0.1% complaint rate:
https://docs.aws.amazon.com/ses/latest/dg/reputationdashboard-faqs.html
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from google.protobuf.message import Message

from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash
from services.core.suppression_rule import (
    Reason,
    gravest,
    ses_list_reason,
    soft_bounces_in_window,
    soft_bounces_suppress_since,
)
from services.feedback.ses_feedback import Bounce, Complaint, Delivery, FeedbackItem

BOUNCE_REVIEW_RATE = 0.05
COMPLAINT_REVIEW_RATE = 0.001
# Past these SES may pause the account's sending (the review lines above come first).
BOUNCE_PAUSE_RATE = 0.10
COMPLAINT_PAUSE_RATE = 0.005
DEFAULT_STATS_WINDOW_DAYS = 30
MAX_STATS_WINDOW_DAYS = 366
FEEDBACK_AGGREGATE = "feedback"
SUBSCRIPTION_AGGREGATE = "sns_subscription"

_SNS_MESSAGE_ID = re.compile(r"[A-Za-z0-9-]{1,100}", re.ASCII)


@dataclass(frozen=True, slots=True)
class ProviderTopics:
    """What the feedback endpoint needs to know about a provider."""

    account_id: str
    topic_arns: tuple[str, ...]
    allow_first_topic: bool


class TopicDecision(StrEnum):
    ALLOWED = "allowed"
    ALLOW_AS_FIRST = "allow_as_first"  # first-topic mode: this topic becomes the provider's topic
    REFUSED = "refused"


def topic_decision(provider: ProviderTopics, topic_arn: str, *, confirming: bool) -> TopicDecision:
    """A topic is the provider's when listed; in first-topic mode the first one to confirm a
    subscription becomes so. A Notification never claims a topic: SNS only sends them after a
    confirmed subscription, so one from an unlisted topic is not ours."""
    if topic_arn in provider.topic_arns:
        return TopicDecision.ALLOWED
    if confirming and provider.allow_first_topic and not provider.topic_arns:
        return TopicDecision.ALLOW_AS_FIRST
    return TopicDecision.REFUSED


def refused_topic_reason(provider: ProviderTopics, topic_arn: str) -> str:
    if provider.allow_first_topic and not provider.topic_arns:
        return (
            f"topic {topic_arn} has not confirmed a subscription for this provider; "
            "SNS must deliver its SubscriptionConfirmation here first"
        )
    return f"topic {topic_arn} is not one of this provider's SNS topics; add it to the provider's sns_topic_arns"


def sns_message_id_is_valid(message_id: str) -> bool:
    """SNS MessageIds are UUIDs; anything else cannot be a JetStream message id or a table key."""
    return _SNS_MESSAGE_ID.fullmatch(message_id) is not None


def feedback_msg_id(provider_id: str, sns_message_id: str, index: int) -> str:
    """JetStream's dedupe key for the index-th event of one SNS delivery.

    The provider is part of it because SNS gives one publish the same MessageId on every
    subscription of the topic: two providers subscribed to one topic must both record it.
    """
    return f"{provider_id}:{sns_message_id}:{index}"


def subscription_msg_id(provider_id: str, sns_message_id: str) -> str:
    return f"{provider_id}:{sns_message_id}"


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    """An event to append for one feedback item, with its aggregate and dedupe key."""

    payload: Message
    aggregate_id: str
    msg_id: str


def feedback_events(
    items: list[FeedbackItem],
    *,
    provider_id: str,
    sns_message_id: str,
    dispatch_id_of: Callable[[str], str | None],
) -> list[FeedbackEvent]:
    """One event per bounced, complained or delivered recipient; other items make none.

    `dispatch_id_of(ses_message_id)` names the dispatch that sent a message the original headers
    did not tag (the read model's EmailDispatched correlation).
    """
    events: list[FeedbackEvent] = []
    for item in items:
        payload = _payload_for(item, provider_id, sns_message_id, dispatch_id_of)
        if payload is not None:
            msg_id = feedback_msg_id(provider_id, sns_message_id, len(events))
            events.append(FeedbackEvent(payload, payload.recipient_hash, msg_id))
    return events


def _payload_for(
    item: FeedbackItem, provider_id: str, sns_message_id: str, dispatch_id_of: Callable[[str], str | None]
) -> Message | None:
    if not isinstance(item, (Bounce, Complaint, Delivery)):
        return None
    common = dict(
        provider_id=provider_id,
        recipient_hash=recipient_hash(item.recipient.key),
        recipient=item.recipient.address,
        ses_message_id=item.ses_message_id,
        dispatch_id=item.dispatch_id or dispatch_id_of(item.ses_message_id) or "",
        sns_message_id=sns_message_id,
    )
    if isinstance(item, Bounce):
        payload = events_pb2.BounceReceived(
            **common,
            bounce_type=item.bounce_type.value,
            bounce_subtype=item.bounce_subtype,
            status=item.status or "",
            diagnostic_code=item.diagnostic_code or "",
            feedback_id=item.feedback_id,
        )
        payload.bounced_at.FromDatetime(item.timestamp)
    elif isinstance(item, Complaint):
        payload = events_pb2.ComplaintReceived(
            **common, feedback_type=item.complaint_feedback_type or "", feedback_id=item.feedback_id
        )
        payload.complained_at.FromDatetime(item.timestamp)
    else:
        payload = events_pb2.DeliveryReceived(**common, smtp_response=item.smtp_response)
        payload.delivered_at.FromDatetime(item.timestamp)
    return payload


def ses_message_ids_without_dispatch_id(items: list[FeedbackItem]) -> list[str]:
    """The SES message ids whose dispatch must be looked up (the headers did not carry it)."""
    return sorted(
        {
            item.ses_message_id
            for item in items
            if isinstance(item, (Bounce, Complaint, Delivery)) and not item.dispatch_id
        }
    )


# ---- recipient status ----


@dataclass(frozen=True, slots=True)
class RecipientEvidence:
    """What the feedback read model holds on one recipient, for the one suppression rule."""

    hard_bounced: bool = False
    complained: bool = False
    soft_bounce_times: tuple[datetime, ...] = ()
    ses_reasons: tuple[str, ...] = ()  # SES's suppression-list reasons (BOUNCE, COMPLAINT)


def suppression_reason(
    evidence: RecipientEvidence, *, soft_bounce_threshold: int, soft_bounce_window_days: int
) -> Reason | None:
    """Why mail to a recipient must stop, by the rule dispatch applies too (gravest first)."""
    reasons = [
        reason
        for reason, holds in ((Reason.COMPLAINT, evidence.complained), (Reason.HARD_BOUNCE, evidence.hard_bounced))
        if holds
    ]
    reasons += [r for r in map(ses_list_reason, evidence.ses_reasons) if r is not None]
    if soft_bounces_suppress_since(
        evidence.soft_bounce_times, threshold=soft_bounce_threshold, window_days=soft_bounce_window_days
    ):
        reasons.append(Reason.SOFT_BOUNCES)
    return gravest(reasons)


def recent_soft_bounces(evidence: RecipientEvidence, window_days: int) -> int:
    return soft_bounces_in_window(evidence.soft_bounce_times, window_days=window_days)


# ---- provider stats ----


@dataclass(frozen=True, slots=True)
class FeedbackCounts:
    sent: int = 0
    delivered: int = 0
    bounced: int = 0  # hard bounces
    soft_bounced: int = 0
    complained: int = 0

    def __add__(self, other: FeedbackCounts) -> FeedbackCounts:
        return FeedbackCounts(
            self.sent + other.sent,
            self.delivered + other.delivered,
            self.bounced + other.bounced,
            self.soft_bounced + other.soft_bounced,
            self.complained + other.complained,
        )


@dataclass(frozen=True, slots=True)
class ProviderRates:
    counts: FeedbackCounts
    bounce_rate: float
    complaint_rate: float

    @property
    def bounce_rate_over_review_line(self) -> bool:
        return self.bounce_rate >= BOUNCE_REVIEW_RATE

    @property
    def complaint_rate_over_review_line(self) -> bool:
        return self.complaint_rate >= COMPLAINT_REVIEW_RATE


def provider_rates(counts: FeedbackCounts) -> ProviderRates:
    """Bounce and complaint rates over the recipients sent to.

    Mail sent through the same SES identity but not by Postroom still bounces here, so the
    denominator is at least the recipients SES reported on; otherwise a rate could pass 100%.
    """
    denominator = max(counts.sent, counts.delivered + counts.bounced + counts.soft_bounced)
    if denominator == 0:
        return ProviderRates(counts, 0.0, 0.0)
    return ProviderRates(counts, counts.bounced / denominator, counts.complained / denominator)


def stats_window(window_days: int) -> int:
    if window_days == 0:
        return DEFAULT_STATS_WINDOW_DAYS
    return window_days


def window_violation(window_days: int) -> str | None:
    if window_days > MAX_STATS_WINDOW_DAYS:
        return f"must be at most {MAX_STATS_WINDOW_DAYS} days (0 = {DEFAULT_STATS_WINDOW_DAYS})"
    return None


def first_day_of_window(now: datetime, window_days: int) -> date:
    return (now - timedelta(days=window_days - 1)).date()
