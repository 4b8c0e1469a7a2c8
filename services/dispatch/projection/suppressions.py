"""Who dispatch must not mail: hard bounces, complaints, repeated soft bounces and unsubscribes,
from the feedback and unsubscribe services' events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent, occurred_at
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection
from services.dispatch import suppression

metadata = MetaData()

suppressions = Table(
    "dispatch_suppressions", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),
    Column("list_id", String(128), primary_key=True),
    Column("reason", String(16), primary_key=True),
    Column("recipient", String(254), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
)

soft_bounces = Table(
    "dispatch_soft_bounces", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),
    Column("stream_seq", BigInteger, primary_key=True),
    Column("bounced_at", DateTime(timezone=True), nullable=False),
)

RecipientKey = tuple[str, str]


@dataclass(frozen=True)
class _Suppress:
    row: dict[str, Any]


@dataclass(frozen=True)
class _SoftBounce:
    key: RecipientKey
    recipient: str
    at: datetime
    seq: int


@dataclass(frozen=True)
class _Resubscribe:
    key: RecipientKey
    list_id: str


class SuppressionsProjection(Projection):
    """The batch's changes are kept in stream order: whether a soft bounce reaches the threshold
    depends on the ones before it, and a resubscribe lifts only what came before it."""

    name = "dispatch.suppressions"
    version = 1
    metadata = metadata

    def __init__(self, soft_bounce_threshold: int, soft_bounce_window_days: int) -> None:
        self.soft_bounce_threshold = soft_bounce_threshold
        self.soft_bounce_window_days = soft_bounce_window_days

    def new_changes(self) -> list:
        return []

    @handles(events_pb2.BounceReceived)
    def bounce(self, changes: list, stored: StoredEvent, bounce: events_pb2.BounceReceived) -> None:
        key, at = (stored.event.account_id, bounce.recipient_hash), _time_or(bounce.bounced_at, stored)
        if suppression.bounce_reason(bounce.bounce_type):
            changes.append(_suppress(key, suppression.HARD_BOUNCE, bounce.recipient, at, stored.stream_seq))
        else:
            changes.append(_SoftBounce(key, bounce.recipient, at, stored.stream_seq))

    @handles(events_pb2.ComplaintReceived)
    def complaint(self, changes: list, stored: StoredEvent, complaint: events_pb2.ComplaintReceived) -> None:
        changes.append(_suppress((stored.event.account_id, complaint.recipient_hash), suppression.COMPLAINT,
                                 complaint.recipient, _time_or(complaint.complained_at, stored), stored.stream_seq))

    @handles(events_pb2.Unsubscribed)
    def unsubscribed(self, changes: list, stored: StoredEvent, unsubscribed: events_pb2.Unsubscribed) -> None:
        changes.append(_suppress((stored.event.account_id, unsubscribed.recipient_hash), suppression.UNSUBSCRIBED,
                                 unsubscribed.recipient, occurred_at(stored.event), stored.stream_seq,
                                 unsubscribed.list_id))

    @handles(events_pb2.Resubscribed)
    def resubscribed(self, changes: list, stored: StoredEvent, resubscribed: events_pb2.Resubscribed) -> None:
        changes.append(_Resubscribe((stored.event.account_id, resubscribed.recipient_hash), resubscribed.list_id))

    async def write(self, conn: AsyncConnection, changes: list) -> None:
        pending: list[dict[str, Any]] = []        # consecutive suppressions go in one statement
        for change in changes:
            if isinstance(change, _Suppress):
                pending.append(change.row)
                continue
            await _upsert_suppressions(conn, pending)
            pending = []
            if isinstance(change, _SoftBounce):
                if await self._soft_bounce_reaches_threshold(conn, change):
                    pending.append(_suppress(change.key, suppression.SOFT_BOUNCES, change.recipient, change.at,
                                             change.seq).row)
            else:
                await _resubscribe(conn, change)
        await _upsert_suppressions(conn, pending)

    async def _soft_bounce_reaches_threshold(self, conn: AsyncConnection, bounce: _SoftBounce) -> bool:
        account_id, recipient_hash = bounce.key
        await conn.execute(soft_bounces.insert().values(account_id=account_id, recipient_hash=recipient_hash,
                                                        stream_seq=bounce.seq, bounced_at=bounce.at))
        times = (await conn.execute(select(soft_bounces.c.bounced_at).where(
            soft_bounces.c.account_id == account_id, soft_bounces.c.recipient_hash == recipient_hash))).scalars()
        return suppression.soft_bounces_exceed([_utc(t) for t in times], bounce.at,
                                               threshold=self.soft_bounce_threshold,
                                               window_days=self.soft_bounce_window_days)


def _suppress(key: RecipientKey, reason: str, recipient: str, since: datetime, seq: int,
              list_id: str = suppression.GLOBAL) -> _Suppress:
    return _Suppress({"account_id": key[0], "recipient_hash": key[1], "list_id": list_id, "reason": reason,
                      "recipient": recipient, "since": since, "stream_seq": seq})


async def _upsert_suppressions(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await upsert(conn, suppressions, rows, ["account_id", "recipient_hash", "list_id", "reason"])


async def _resubscribe(conn: AsyncConnection, change: _Resubscribe) -> None:
    where = and_(suppressions.c.account_id == change.key[0], suppressions.c.recipient_hash == change.key[1],
                 suppressions.c.reason == suppression.UNSUBSCRIBED)
    if change.list_id != suppression.GLOBAL:
        where = and_(where, suppressions.c.list_id == change.list_id)
    await conn.execute(delete(suppressions).where(where))


def _time_or(timestamp, stored: StoredEvent) -> datetime:
    return timestamp.ToDatetime(tzinfo=timezone.utc) if timestamp.seconds else occurred_at(stored.event)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
