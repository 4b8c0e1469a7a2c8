"""Dispatch's read model, one projection per concept, all fed by one pass over the stream with
one checkpoint: once it covers an EmailQueued, every provider change and suppression before it
is in (the worker waits for that before it sends).

- `providers`: providers as dispatch sends through them, and their pauses;
- `dispatches`: each dispatch's status;
- `suppressions`: who must not be mailed;
- `ses_receipts`: SES feedback that proves a dispatch was accepted;
- `content_holds`: which dispatches name which content, and when they got their outcome.
- `guard`: sends per provider and their hard bounces and complaints, for the deliverability guard.

`queries` reads them.
"""

from __future__ import annotations

from services.core.projection import Projection
from services.core.settings import Settings
from services.dispatch.projection.content_holds import ContentHoldsProjection
from services.dispatch.projection.dispatches import QUEUED, DispatchesProjection
from services.dispatch.projection.guard import GuardProjection
from services.dispatch.projection.providers import DispatchProvidersProjection
from services.dispatch.projection.queries import DispatchReadModel, SuppressionChecks
from services.dispatch.projection.ses_receipts import SesReceiptsProjection
from services.dispatch.projection.suppressions import SuppressionsProjection

__all__ = ["QUEUED", "DispatchReadModel", "SuppressionChecks", "dispatch_projections"]


def dispatch_projections(settings: Settings) -> list[Projection]:
    return [
        DispatchProvidersProjection(),
        DispatchesProjection(),
        SuppressionsProjection(settings.soft_bounce_threshold, settings.soft_bounce_window_days),
        SesReceiptsProjection(),
        ContentHoldsProjection(),
        GuardProjection(),
    ]
