"""Which dispatches name which content, and when each got its outcome: what the sweeper and
GetDispatch read. Only hashes: replay never needs the content itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import update_rows, upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection
from services.dispatch import events

metadata = MetaData()

content_holds = Table(
    "dispatch_content_holds",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("dispatch_id", String(64), primary_key=True),
    Column("settled_at", Float, nullable=True),  # seconds since the epoch of its outcome; NULL while open
)


@dataclass
class HoldChanges:
    new_rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    settled: dict[str, float] = field(default_factory=dict)


class ContentHoldsProjection(Projection):
    name = "dispatch.content_holds"
    version = 1
    metadata = metadata

    def new_changes(self) -> HoldChanges:
        return HoldChanges()

    @handles(events_pb2.EmailQueued)
    def queued(self, changes: HoldChanges, stored: StoredEvent, _queued: events_pb2.EmailQueued) -> None:
        dispatch_id = stored.event.aggregate_id
        for digest in events.refs_of(stored.event).digests:
            changes.new_rows[(digest, dispatch_id)] = {"sha256": digest, "dispatch_id": dispatch_id, "settled_at": None}

    @handles(events_pb2.EmailDispatched)
    def dispatched(self, changes: HoldChanges, stored: StoredEvent, _sent: events_pb2.EmailDispatched) -> None:
        _settle(changes, stored)

    @handles(events_pb2.DispatchFailed)
    def failed(self, changes: HoldChanges, stored: StoredEvent, _failed: events_pb2.DispatchFailed) -> None:
        _settle(changes, stored)

    @handles(events_pb2.EmailSuppressed)
    def suppressed(self, changes: HoldChanges, stored: StoredEvent, _suppressed: events_pb2.EmailSuppressed) -> None:
        _settle(changes, stored)

    async def write(self, conn: AsyncConnection, changes: HoldChanges) -> None:
        await upsert(conn, content_holds, list(changes.new_rows.values()), ["sha256", "dispatch_id"])
        await update_rows(
            conn,
            content_holds,
            [{"dispatch_id": dispatch_id, "settled_at": at} for dispatch_id, at in changes.settled.items()],
            ["dispatch_id"],
        )


def _settle(changes: HoldChanges, stored: StoredEvent) -> None:
    changes.settled[stored.event.aggregate_id] = stored.event.occurred_at.ToNanoseconds() / 1e9
