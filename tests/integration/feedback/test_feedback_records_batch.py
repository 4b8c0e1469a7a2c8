"""A replay's batch of feedback, as large as the projection runner takes (up to BATCH_SIZE events):
every record is written by feedback's projections and dispatch's, on SQLite and PostgreSQL, whose
statements each take at most 32,767 parameters (and PostgreSQL a bounded depth of expression)."""

from __future__ import annotations

from sqlalchemy import func, select

from services.core.database import create_engine
from services.core.events import StoredEvent, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import ProjectionSet
from services.core.settings import Settings
from services.dispatch.projection import dispatch_projections
from services.dispatch.projection.guard import guard_sends
from services.feedback.projection import feedback_projections
from services.feedback.projection.records import daily_counts, records

BOUNCES = 12_000  # three key columns each: over SQLite's and asyncpg's parameter limit in one IN list


def bounce(n: int) -> StoredEvent:
    payload = events_pb2.BounceReceived(
        provider_id="p1",
        recipient_hash=f"h{n}",
        recipient=f"r{n}@example.org",
        sns_message_id=f"sns-{n}",
        ses_message_id=f"ses-{n}",
        dispatch_id=f"d{n}",
        bounce_type="Permanent",
        bounce_subtype="General",
    )
    event = new_event(payload, account_id="acme", aggregate_type="recipient", aggregate_id=f"h{n}")
    return StoredEvent(n + 1, "", event)


async def test_a_batch_of_twelve_thousand_bounces_is_recorded_whole(read_model_settings):
    engine = create_engine(read_model_settings.database_url_for("feedback-large-batch"))
    projections = ProjectionSet([*feedback_projections(), *dispatch_projections(Settings())])
    try:
        await projections.create_tables(engine)
        batch = [bounce(n) for n in range(BOUNCES)]
        async with engine.begin() as conn:
            await projections.apply(conn, batch)
        async with engine.begin() as conn:
            await projections.apply(conn, batch[:100])  # SNS retried after JetStream's window: not twice
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(records)) == BOUNCES
            assert await conn.scalar(select(func.sum(daily_counts.c.bounced))) == BOUNCES
            assert await conn.scalar(select(func.count()).select_from(guard_sends)) == 0  # none was sent here
    finally:
        await engine.dispose()
