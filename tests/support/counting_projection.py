"""A projection that is NOT idempotent by itself: it counts applications per aggregate.

If the runner ever applied an event twice, a count would be too high; that makes it the
probe for exactly-once application under redelivery, replicas, restarts and switches."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Column, Integer, MetaData, String, Table, select

from services.core.database import upsert
from services.core.event_routes import handles
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection

metadata = MetaData()
table = Table(
    "test_counts",
    metadata,
    Column("aggregate_id", String(64), primary_key=True),
    Column("applied", Integer, nullable=False),
)


class CountingProjection(Projection):
    name = "test.counts"
    version = 1
    metadata = metadata
    table = table

    def new_changes(self) -> Counter:
        return Counter()

    @handles(events_pb2.ProviderSaved)
    def saved(self, changes: Counter, stored, _saved) -> None:
        changes[stored.event.aggregate_id] += 1

    async def write(self, conn, changes: Counter) -> None:
        existing = dict((await conn.execute(select(table).where(table.c.aggregate_id.in_(list(changes))))).all())
        await upsert(
            conn,
            table,
            [{"aggregate_id": key, "applied": existing.get(key, 0) + delta} for key, delta in changes.items()],
            ["aggregate_id"],
        )


def counting_projection(name: str = "test.counts", version: int = 1) -> CountingProjection:
    projection = CountingProjection()
    projection.name = name
    projection.version = version
    return projection


async def counts(engine, projection=None) -> dict[str, int]:
    async with engine.connect() as conn:
        return dict((await conn.execute(select(table))).all())
