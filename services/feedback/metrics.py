"""Prometheus metrics of the feedback service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from services.core.metrics import cached_labels

# The figures SES itself watches (review at 5% bounces, 0.1% complaints), as fractions, per provider.
BOUNCE_RATE = Gauge(
    "postroom_feedback_bounce_rate", "Hard bounces / sent over the stats window", ["account_id", "provider_id"]
)
COMPLAINT_RATE = Gauge(
    "postroom_feedback_complaint_rate", "Complaints / sent over the stats window", ["account_id", "provider_id"]
)
SNS_DELIVERIES = Counter(
    "postroom_feedback_sns_deliveries_total", "SNS deliveries by message type and HTTP status", ["type", "status"]
)
FEEDBACK_RECORDED = Counter("postroom_feedback_recorded_total", "Feedback events appended", ["kind"])
FEEDBACK_NOT_RECORDED = Counter(
    "postroom_feedback_not_recorded_total",
    "SES feedback kinds received that make no event (DeliveryDelay, Open, ...)",
    ["kind"],
)
SNS_DUPLICATES = Counter(
    "postroom_feedback_sns_duplicates_total",
    "SNS retries of a message already recorded, by where they were recognised",
    ["where"],
)
SUBSCRIPTIONS = Counter(
    "postroom_feedback_sns_subscriptions_total",
    "SubscriptionConfirmation / UnsubscribeConfirmation messages by outcome",
    ["outcome"],
)

sns_deliveries = cached_labels(SNS_DELIVERIES)
feedback_recorded = cached_labels(FEEDBACK_RECORDED)
