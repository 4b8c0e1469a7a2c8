"""Which recipients SES's own account-level suppression list holds, per provider (one reason at a
time, as SES keeps it): feedback's copy of services/core/ses_listings.py."""

from __future__ import annotations

from services.core.ses_listings import SesListingsProjection, ses_listings_table


class FeedbackSesSuppressionsProjection(SesListingsProjection):
    name = "feedback.ses_suppressions"
    version = 2  # 2: the shared columns of services/core/ses_listings.py
    table = ses_listings_table("feedback_ses_suppressions")


ses_suppressions = FeedbackSesSuppressionsProjection.table
