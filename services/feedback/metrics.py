"""Prometheus metrics of the feedback service."""

from __future__ import annotations

from prometheus_client import Counter

SNS_DELIVERIES = Counter("postroom_feedback_sns_deliveries_total", "SNS deliveries by message type and HTTP status",
                         ["type", "status"])
FEEDBACK_RECORDED = Counter("postroom_feedback_recorded_total", "Feedback events appended", ["kind"])
FEEDBACK_NOT_RECORDED = Counter("postroom_feedback_not_recorded_total",
                                "SES feedback kinds received that make no event (DeliveryDelay, Open, ...)", ["kind"])
SNS_DUPLICATES = Counter("postroom_feedback_sns_duplicates_total",
                         "SNS retries of a message already recorded, by where they were recognised", ["where"])
SUBSCRIPTIONS = Counter("postroom_feedback_sns_subscriptions_total",
                        "SubscriptionConfirmation / UnsubscribeConfirmation messages by outcome", ["outcome"])
