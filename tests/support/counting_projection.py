"""A projection that is NOT idempotent by itself: it counts applications per aggregate.

If the runner ever applied an event twice, a count would be too high; that makes it the
probe for exactly-once application under redelivery, replicas and restarts."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Column, Integer, MetaData, String, Table, select

from services.core.database import upsert
from services.core.events import StoredEvent


metadata = MetaData()
table = Table("test_counts", metadata, Column("aggregate_id", String(64), primary_key=True),
              Column("applied", Integer, nullable=False))


def counting_projection(name: str = "test.counts"):
    class CountingProjection:
        aggregate_types = frozenset({"provider"})

        def __init__(self) -> None:
            self.name = name
            self.metadata = metadata
            self.table = table

        async def apply(self, conn, events: list[StoredEvent]) -> None:
            deltas = Counter(stored.event.aggregate_id for stored in events)
            existing = dict((await conn.execute(select(table).where(table.c.aggregate_id.in_(list(deltas))))).all())
            await upsert(conn, table, [{"aggregate_id": key, "applied": existing.get(key, 0) + delta}
                                       for key, delta in deltas.items()], ["aggregate_id"])

    return CountingProjection()


async def counts(engine, projection) -> dict[str, int]:
    async with engine.connect() as conn:
        return dict((await conn.execute(select(projection.table))).all())
