"""The feedback read model, one projection per concept, all fed by one pass over the stream:

- `providers`: each provider's SNS topics;
- `records`: one row per bounce, complaint and delivery, and the daily tallies (the stats);
- `sns_messages`: the SNS MessageIds already recorded;
- `dispatches`: SES message id -> dispatch id;
- `ses_suppressions`: who SES's own suppression list holds (imported by config).

`queries` reads them.
"""

from __future__ import annotations

from services.core.projection import Projection
from services.feedback.projection.dispatches import FeedbackDispatchesProjection
from services.feedback.projection.providers import FeedbackProvidersProjection
from services.feedback.projection.queries import (
    DeliveryContext,
    DeliveryContextReader,
    FeedbackFilter,
    FeedbackReadModel,
    FeedbackRecordView,
)
from services.feedback.projection.records import RECORD_KINDS, FeedbackRecordsProjection
from services.feedback.projection.ses_suppressions import FeedbackSesSuppressionsProjection
from services.feedback.projection.sns_messages import SnsMessagesProjection

__all__ = [
    "DeliveryContext",
    "DeliveryContextReader",
    "FeedbackFilter",
    "FeedbackReadModel",
    "FeedbackRecordView",
    "RECORD_KINDS",
    "feedback_projections",
]


def feedback_projections() -> list[Projection]:
    return [
        FeedbackProvidersProjection(),
        FeedbackRecordsProjection(),
        SnsMessagesProjection(),
        FeedbackDispatchesProjection(),
        FeedbackSesSuppressionsProjection(),
    ]
