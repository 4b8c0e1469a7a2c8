"""One row per BounceReceived / ComplaintReceived / DeliveryReceived, and their daily tallies per
provider beside the recipients sent to (from EmailDispatched): the recipient status and the
bounce and complaint rates are read from here."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table, Text, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import rows_in, upsert
from services.core.event_routes import EventRoutes, handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection
from services.core.suppression_rule import feedback_once_key, is_hard_bounce

metadata = MetaData()

# Values that come from SES are Text, not String(n): one longer than expected must not stop the
# projection on PostgreSQL. Keys we validate ourselves keep a length.

records = Table(
    "feedback_records",
    metadata,
    Column("stream_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("account_id", String(64), nullable=False),
    Column("recipient_hash", String(64), nullable=False),
    Column("provider_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("bounce_type", Text, nullable=False),
    Column("bounce_subtype", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("feedback_type", Text, nullable=False),
    Column("diagnostic_code", Text, nullable=False),
    Column("ses_message_id", Text, nullable=False),
    Column("dispatch_id", Text, nullable=False),
    Column("occurred_at_ms", BigInteger, nullable=False),
    Column("sns_message_id", String(100), nullable=False),
    Index("feedback_records_by_recipient", "account_id", "recipient_hash", "stream_seq"),
    # One record per recipient of one SNS message, even when a retry came after JetStream's window
    Index("feedback_records_once", "provider_id", "sns_message_id", "recipient_hash", unique=True),
    Index("feedback_records_by_provider", "account_id", "provider_id", "stream_seq"),
)

daily_counts = Table(
    "feedback_daily_counts",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD, UTC
    Column("sent", BigInteger, nullable=False),
    Column("delivered", BigInteger, nullable=False),
    Column("bounced", BigInteger, nullable=False),
    Column("soft_bounced", BigInteger, nullable=False),
    Column("complained", BigInteger, nullable=False),
)

COUNT_COLUMNS = ("sent", "delivered", "bounced", "soft_bounced", "complained")
_RECORD_TEXT_FIELDS = (
    "recipient",
    "bounce_type",
    "bounce_subtype",
    "status",
    "feedback_type",
    "diagnostic_code",
    "ses_message_id",
    "dispatch_id",
)

CountKey = tuple[str, str, str]  # account, provider, day


@dataclass
class _Candidate:
    row: dict[str, Any]
    count_key: CountKey
    column: str

    @property
    def once_key(self) -> tuple[str, str, str]:
        return self.row["provider_id"], self.row["sns_message_id"], self.row["recipient_hash"]


@dataclass
class RecordChanges:
    candidates: list[_Candidate] = field(default_factory=list)
    counts: dict[CountKey, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    )


class FeedbackRecordsProjection(Projection):
    name = "feedback.records"
    # 2: an event without SES's timestamp is dated by the event, and one without an SNS MessageId
    # is its own record (services/core/suppression_rule.py), as dispatch counts them
    version = 2
    metadata = metadata

    def new_changes(self) -> RecordChanges:
        return RecordChanges()

    @handles(events_pb2.BounceReceived)
    def bounce(self, changes: RecordChanges, stored: StoredEvent, bounce: events_pb2.BounceReceived) -> None:
        column = "bounced" if is_hard_bounce(bounce.bounce_type) else "soft_bounced"
        _collect(changes, stored, bounce, record_kind(events_pb2.BounceReceived), bounce.bounced_at, column)

    @handles(events_pb2.ComplaintReceived)
    def complaint(self, changes: RecordChanges, stored: StoredEvent, complaint: events_pb2.ComplaintReceived) -> None:
        _collect(
            changes, stored, complaint, record_kind(events_pb2.ComplaintReceived), complaint.complained_at, "complained"
        )

    @handles(events_pb2.DeliveryReceived)
    def delivery(self, changes: RecordChanges, stored: StoredEvent, delivery: events_pb2.DeliveryReceived) -> None:
        _collect(
            changes, stored, delivery, record_kind(events_pb2.DeliveryReceived), delivery.delivered_at, "delivered"
        )

    @handles(events_pb2.EmailDispatched)
    def dispatched(self, changes: RecordChanges, stored: StoredEvent, dispatched: events_pb2.EmailDispatched) -> None:
        day = _day(_millis(stored.event.occurred_at))
        changes.counts[(stored.event.account_id, dispatched.provider_id, day)]["sent"] += max(
            1, len(dispatched.recipient_hashes)
        )

    async def write(self, conn: AsyncConnection, changes: RecordChanges) -> None:
        fresh = await _not_yet_recorded(conn, changes.candidates)
        # Each record is a new stream sequence: the upsert is an insert, through core's compiled path.
        await upsert(conn, records, [candidate.row for candidate in fresh], ["stream_seq"])
        for candidate in fresh:
            changes.counts[candidate.count_key][candidate.column] += 1
        await _add_counts(conn, changes.counts)


def record_kind(payload_type) -> str:
    """The `kind` a record of this event type carries: BounceReceived -> "bounce"."""
    return payload_type.DESCRIPTOR.name.removesuffix("Received").lower()


def _record_kinds() -> tuple[str, ...]:
    """What ListFeedback may filter by: the kinds of the SES feedback events (`...Received`) this
    projection declares, so a new one is filterable as soon as it has its handler."""
    declared = EventRoutes.of(FeedbackRecordsProjection(), arguments=3).declared
    return tuple(
        record_kind(payload_type) for payload_type in declared if payload_type.DESCRIPTOR.name.endswith("Received")
    )


RECORD_KINDS = _record_kinds()


def _collect(changes: RecordChanges, stored: StoredEvent, payload, kind: str, at: Timestamp, column: str) -> None:
    occurred_ms = _millis(at if at.seconds else stored.event.occurred_at)
    event = stored.event
    row = {
        "stream_seq": stored.stream_seq,
        "account_id": event.account_id,
        "recipient_hash": payload.recipient_hash,
        "provider_id": payload.provider_id,
        "kind": kind,
        "occurred_at_ms": occurred_ms,
        "sns_message_id": feedback_once_key(payload.sns_message_id, event.event_id),
        **{name: _storable(getattr(payload, name, "")) for name in _RECORD_TEXT_FIELDS},
    }
    changes.candidates.append(_Candidate(row, (event.account_id, payload.provider_id, _day(occurred_ms)), column))


async def _not_yet_recorded(conn: AsyncConnection, candidates: list[_Candidate]) -> list[_Candidate]:
    """The records whose SNS message was not already recorded for that recipient: a retry that
    JetStream's duplicate window no longer caught must not count twice."""
    if not candidates:
        return []
    key = tuple_(records.c.provider_id, records.c.sns_message_id, records.c.recipient_hash)
    found = await rows_in(
        conn,
        lambda chunk: select(records.c.provider_id, records.c.sns_message_id, records.c.recipient_hash).where(
            key.in_(chunk)
        ),
        list(dict.fromkeys(candidate.once_key for candidate in candidates)),
    )
    seen: set[tuple[str, str, str]] = {tuple(row) for row in found}
    fresh = []
    for candidate in candidates:
        if candidate.once_key not in seen:
            seen.add(candidate.once_key)
            fresh.append(candidate)
    return fresh


def _storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL, and SES diagnostic codes are remote servers' free text.
    return text.replace("\x00", "\ufffd")


async def _add_counts(conn: AsyncConnection, deltas: dict[CountKey, dict[str, int]]) -> None:
    if not deltas:
        return
    key = tuple_(daily_counts.c.account_id, daily_counts.c.provider_id, daily_counts.c.day)
    existing = await rows_in(conn, lambda chunk: select(daily_counts).where(key.in_(chunk)), list(deltas))
    totals = {(r.account_id, r.provider_id, r.day): dict(r._mapping) for r in existing}
    rows = []
    for (account_id, provider_id, day), delta in deltas.items():
        row = totals.get((account_id, provider_id, day)) or {
            "account_id": account_id,
            "provider_id": provider_id,
            "day": day,
            **dict.fromkeys(COUNT_COLUMNS, 0),
        }
        rows.append({**row, **{c: row[c] + delta[c] for c in COUNT_COLUMNS}})
    await upsert(conn, daily_counts, rows, ["account_id", "provider_id", "day"])


def _millis(timestamp: Timestamp) -> int:
    return timestamp.seconds * 1000 + timestamp.nanos // 1_000_000


def _day(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).date().isoformat()
