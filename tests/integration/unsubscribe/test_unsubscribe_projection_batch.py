"""A replay's batch as large as the projection runner takes: 12,000 resubscribes after as many
unsubscribes, on SQLite and PostgreSQL (32,767 parameters a statement, a bounded expression depth)."""

from __future__ import annotations

from sqlalchemy import func, select

from services.core.database import create_engine
from services.core.events import StoredEvent, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import ProjectionSet
from services.unsubscribe.projection import UnsubscribeProjection, unsubscribes

RECIPIENTS = 12_000


def stored(seq: int, payload) -> StoredEvent:
    event = new_event(payload, account_id="acme", aggregate_type="recipient", aggregate_id=payload.recipient_hash)
    return StoredEvent(seq, "", event)


async def test_a_batch_of_twelve_thousand_resubscribes_is_applied_whole(read_model_settings):
    engine = create_engine(read_model_settings.database_url_for("unsubscribe-large-batch"))
    projections = ProjectionSet([UnsubscribeProjection()])
    try:
        await projections.create_tables(engine)
        left = [
            stored(
                n + 1, events_pb2.Unsubscribed(recipient_hash=f"h{n}", recipient=f"r{n}@example.org", list_id="news")
            )
            for n in range(RECIPIENTS)
        ]
        back = [
            stored(RECIPIENTS + n + 1, events_pb2.Resubscribed(recipient_hash=f"h{n}", list_id="news"))
            for n in range(RECIPIENTS - 1)
        ]
        async with engine.begin() as conn:
            await projections.apply(conn, left)
        async with engine.begin() as conn:
            await projections.apply(conn, back)
        async with engine.connect() as conn:
            assert [tuple(row) for row in await conn.execute(select(unsubscribes.c.recipient_hash))] == [
                (f"h{RECIPIENTS - 1}",)
            ]
            assert await conn.scalar(select(func.count()).select_from(unsubscribes)) == 1
    finally:
        await engine.dispose()
