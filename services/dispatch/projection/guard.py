"""What the deliverability guard counts: each sent email by the provider that sent it, marked when
SES's feedback reports a hard bounce or a complaint for it, and when a person last resumed each
provider (the guard counts afresh from there: who resumed has answered for what came before)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import update_in, upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection

metadata = MetaData()

guard_sends = Table(
    "dispatch_guard_sends",
    metadata,
    Column("dispatch_id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("provider_id", String(64), nullable=False),
    Column("sent_seq", BigInteger, nullable=False),
    Column("sent_at", Float, nullable=False),
    Column("bounced", Boolean, nullable=False),
    Column("complained", Boolean, nullable=False),
    Index("dispatch_guard_sends_newest", "account_id", "provider_id", "sent_seq"),
)

guard_resets = Table(
    "dispatch_guard_resets",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("resumed_seq", BigInteger, nullable=False),
)


@dataclass
class GuardChanges:
    sends: dict[str, dict[str, Any]] = field(default_factory=dict)
    bounced: set[str] = field(default_factory=set)  # dispatches sent in earlier batches
    complained: set[str] = field(default_factory=set)
    resets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def mark(self, dispatch_id: str, column: str) -> None:
        if dispatch_id in self.sends:
            self.sends[dispatch_id][column] = True
        else:
            (self.bounced if column == "bounced" else self.complained).add(dispatch_id)


class GuardProjection(Projection):
    name = "dispatch.guard"
    version = 1
    metadata = metadata

    def new_changes(self) -> GuardChanges:
        return GuardChanges()

    @handles(events_pb2.EmailDispatched)
    def dispatched(self, changes: GuardChanges, stored: StoredEvent, sent: events_pb2.EmailDispatched) -> None:
        changes.sends[stored.event.aggregate_id] = {
            "dispatch_id": stored.event.aggregate_id,
            "account_id": stored.event.account_id,
            "provider_id": sent.sent_by_provider_id or sent.provider_id,
            "sent_seq": stored.stream_seq,
            "sent_at": stored.event.occurred_at.ToNanoseconds() / 1e9,
            "bounced": False,
            "complained": False,
        }

    @handles(events_pb2.BounceReceived)
    def bounce(self, changes: GuardChanges, _stored: StoredEvent, bounce: events_pb2.BounceReceived) -> None:
        if bounce.bounce_type == "Permanent" and 0 < len(bounce.dispatch_id) <= 64:  # SES counts hard bounces
            changes.mark(bounce.dispatch_id, "bounced")

    @handles(events_pb2.ComplaintReceived)
    def complaint(self, changes: GuardChanges, _stored: StoredEvent, complaint: events_pb2.ComplaintReceived) -> None:
        if 0 < len(complaint.dispatch_id) <= 64:
            changes.mark(complaint.dispatch_id, "complained")

    @handles(events_pb2.ProviderResumed)
    def resumed(self, changes: GuardChanges, stored: StoredEvent, resumed: events_pb2.ProviderResumed) -> None:
        key = (stored.event.account_id, resumed.provider_id)
        changes.resets[key] = {"account_id": key[0], "provider_id": key[1], "resumed_seq": stored.stream_seq}

    async def write(self, conn: AsyncConnection, changes: GuardChanges) -> None:
        await upsert(conn, guard_sends, list(changes.sends.values()), ["dispatch_id"])
        for column, ids in (("bounced", changes.bounced), ("complained", changes.complained)):
            await update_in(conn, guard_sends, guard_sends.c.dispatch_id, sorted(ids), {column: True})
        await upsert(conn, guard_resets, list(changes.resets.values()), ["account_id", "provider_id"])
