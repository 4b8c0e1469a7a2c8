"""The feedback read model, rebuilt from the stream.

- `feedback_providers`: each provider's SNS topics (ProviderSaved/Deleted/TopicAllowed).
- `feedback_records`: one row per BounceReceived/ComplaintReceived/DeliveryReceived.
- `feedback_sns_messages`: the SNS MessageIds already recorded, so a retry that comes after
  JetStream's two-minute duplicate window is still recognised.
- `feedback_dispatches`: SES message id -> dispatch id, from EmailDispatched.
- `feedback_daily_counts`: per provider and day, recipients sent to and their feedback (the stats).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Index, MetaData, String, Table, Text, and_, bindparam,
                        delete, exists, func, literal_column, select, tuple_)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.core.database import upsert
from services.core.events import Event, StoredEvent
from services.feedback.domain import FeedbackCounts, ProviderTopics

metadata = MetaData()

# Values that come from SES are Text, not String(n): one longer than expected must not stop the
# projection on PostgreSQL. Keys we validate ourselves keep a length.

providers = Table(
    "feedback_providers",
    metadata,
    Column("provider_id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("topic_arns", JSON, nullable=False),
    Column("allow_first_topic", Boolean, nullable=False),
)

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

sns_messages = Table(
    "feedback_sns_messages",
    metadata,
    Column("provider_id", String(64), primary_key=True),
    Column("sns_message_id", String(100), primary_key=True),
    Column("stream_seq", BigInteger, nullable=False),
)

dispatches = Table(
    "feedback_dispatches",
    metadata,
    Column("ses_message_id", Text, primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("dispatch_id", Text, nullable=False),
    Column("provider_id", String(64), nullable=False),
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

_COUNT_COLUMNS = ("sent", "delivered", "bounced", "soft_bounced", "complained")
_FEEDBACK_KINDS = {"bounce_received": "bounce", "complaint_received": "complaint", "delivery_received": "delivery"}


@dataclass
class _Batch:
    """One batch's changes, coalesced in memory before they are written."""

    providers: dict[str, dict[str, Any] | None]
    topics_added: dict[str, list[str]]
    records: list[tuple[dict[str, Any], tuple[str, str, str], str]]  # row, its daily-count key and column
    sns_messages: dict[tuple[str, str], int]
    dispatches: dict[str, dict[str, Any]]
    counts: dict[tuple[str, str, str], dict[str, int]]

    @classmethod
    def empty(cls) -> _Batch:
        return cls({}, {}, [], {}, {}, defaultdict(lambda: dict.fromkeys(_COUNT_COLUMNS, 0)))


class FeedbackProjection:
    name = "feedback.records"
    metadata = metadata
    # EmailDispatched is on the dispatch aggregate; SnsSubscriptionConfirmed on sns_subscription.
    aggregate_types = frozenset({"provider", "feedback", "sns_subscription", "dispatch"})

    async def apply(self, conn: AsyncConnection, events: list[StoredEvent]) -> None:
        batch = _Batch.empty()
        for stored in events:
            _collect(batch, stored.stream_seq, stored.event)
        await _write_providers(conn, batch)
        fresh = await _not_yet_recorded(conn, batch.records)
        if fresh:
            await conn.execute(records.insert(), [row for row, _, _ in fresh])
        for _, count_key, column in fresh:
            batch.counts[count_key][column] += 1
        await upsert(conn, sns_messages, [
            {"provider_id": p, "sns_message_id": m, "stream_seq": seq} for (p, m), seq in batch.sns_messages.items()
        ], ["provider_id", "sns_message_id"])
        await upsert(conn, dispatches, list(batch.dispatches.values()), ["ses_message_id"])
        await _add_counts(conn, batch.counts)


def _collect(batch: _Batch, seq: int, event: Event) -> None:
    kind = event.WhichOneof("payload")
    if kind == "provider_saved":
        saved = event.provider_saved
        batch.providers[event.aggregate_id] = {
            "provider_id": event.aggregate_id, "account_id": event.account_id,
            "topic_arns": list(saved.sns_topic_arns), "allow_first_topic": saved.allow_first_sns_topic}
        batch.topics_added.pop(event.aggregate_id, None)
    elif kind == "provider_deleted":
        batch.providers[event.aggregate_id] = None
        batch.topics_added.pop(event.aggregate_id, None)
    elif kind == "provider_topic_allowed":
        _allow_topic(batch, event.aggregate_id, event.provider_topic_allowed.topic_arn)
    elif kind in _FEEDBACK_KINDS:
        _collect_feedback(batch, seq, event, _FEEDBACK_KINDS[kind])
    elif kind in ("sns_subscription_confirmed", "sns_unsubscribe_received"):
        payload = getattr(event, kind)
        batch.sns_messages[(payload.provider_id, payload.sns_message_id)] = seq
    elif kind == "email_dispatched":
        _collect_dispatch(batch, event)


def _allow_topic(batch: _Batch, provider_id: str, topic_arn: str) -> None:
    row = batch.providers.get(provider_id)
    if row is not None:
        if topic_arn not in row["topic_arns"]:
            row["topic_arns"] = [*row["topic_arns"], topic_arn]
    elif provider_id not in batch.providers:
        batch.topics_added.setdefault(provider_id, []).append(topic_arn)


def _collect_feedback(batch: _Batch, seq: int, event: Event, kind: str) -> None:
    payload = getattr(event, f"{kind}_received")
    at = {"bounce": "bounced_at", "complaint": "complained_at", "delivery": "delivered_at"}[kind]
    occurred_ms = _millis(getattr(payload, at))
    row = {
        "stream_seq": seq, "account_id": event.account_id, "recipient_hash": payload.recipient_hash,
        "provider_id": payload.provider_id, "kind": kind, "occurred_at_ms": occurred_ms,
        "sns_message_id": payload.sns_message_id,
        **{name: _storable(getattr(payload, name, "")) for name in _RECORD_TEXT_FIELDS},
    }
    count_key = (event.account_id, payload.provider_id, _day(occurred_ms))
    batch.records.append((row, count_key, _count_column(kind, getattr(payload, "bounce_type", ""))))
    batch.sns_messages[(payload.provider_id, payload.sns_message_id)] = seq


async def _not_yet_recorded(conn: AsyncConnection, candidates: list[tuple[dict[str, Any], tuple[str, str, str], str]]
                            ) -> list[tuple[dict[str, Any], tuple[str, str, str], str]]:
    """The records whose SNS message was not already recorded for that recipient: a retry that
    JetStream's duplicate window no longer caught must not count twice."""
    if not candidates:
        return []
    def key_of(row: dict[str, Any]) -> tuple[str, str, str]:
        return row["provider_id"], row["sns_message_id"], row["recipient_hash"]
    key = tuple_(records.c.provider_id, records.c.sns_message_id, records.c.recipient_hash)
    seen = {tuple(found) for found in await conn.execute(
        select(records.c.provider_id, records.c.sns_message_id, records.c.recipient_hash)
        .where(key.in_([key_of(row) for row, _, _ in candidates])))}
    fresh = []
    for candidate in candidates:
        if key_of(candidate[0]) not in seen:
            seen.add(key_of(candidate[0]))
            fresh.append(candidate)
    return fresh


_RECORD_TEXT_FIELDS = ("recipient", "bounce_type", "bounce_subtype", "status", "feedback_type", "diagnostic_code",
                       "ses_message_id", "dispatch_id")


def _storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL, and SES diagnostic codes are remote servers' free text.
    return text.replace("\x00", "\ufffd")


def _count_column(kind: str, bounce_type: str) -> str:
    if kind == "bounce":
        return "bounced" if bounce_type == "Permanent" else "soft_bounced"
    return {"complaint": "complained", "delivery": "delivered"}[kind]


def _collect_dispatch(batch: _Batch, event: Event) -> None:
    dispatched = event.email_dispatched
    if dispatched.ses_message_id:
        batch.dispatches[dispatched.ses_message_id] = {
            "ses_message_id": dispatched.ses_message_id, "account_id": event.account_id,
            "dispatch_id": dispatched.dispatch_id, "provider_id": dispatched.provider_id}
    day = _day(_millis(event.occurred_at))
    batch.counts[(event.account_id, dispatched.provider_id, day)]["sent"] += max(1, len(dispatched.recipient_hashes))


async def _write_providers(conn: AsyncConnection, batch: _Batch) -> None:
    deleted = [provider_id for provider_id, row in batch.providers.items() if row is None]
    if deleted:
        await conn.execute(delete(providers).where(providers.c.provider_id.in_(deleted)))
    await upsert(conn, providers, [row for row in batch.providers.values() if row is not None], ["provider_id"])
    for provider_id, topics in batch.topics_added.items():
        current = await conn.scalar(select(providers.c.topic_arns).where(providers.c.provider_id == provider_id))
        if current is None:
            continue
        merged = list(_json_list(current))
        merged += [arn for arn in dict.fromkeys(topics) if arn not in merged]
        await conn.execute(providers.update().where(providers.c.provider_id == provider_id).values(topic_arns=merged))


async def _add_counts(conn: AsyncConnection, deltas: dict[tuple[str, str, str], dict[str, int]]) -> None:
    if not deltas:
        return
    key = tuple_(daily_counts.c.account_id, daily_counts.c.provider_id, daily_counts.c.day)
    existing = (await conn.execute(select(daily_counts).where(key.in_(list(deltas))))).mappings().all()
    totals = {(r["account_id"], r["provider_id"], r["day"]): dict(r) for r in existing}
    rows = []
    for (account_id, provider_id, day), delta in deltas.items():
        row = totals.get((account_id, provider_id, day)) or {
            "account_id": account_id, "provider_id": provider_id, "day": day, **dict.fromkeys(_COUNT_COLUMNS, 0)}
        rows.append({**row, **{c: row[c] + delta[c] for c in _COUNT_COLUMNS}})
    await upsert(conn, daily_counts, rows, ["account_id", "provider_id", "day"])


def _millis(timestamp: Timestamp) -> int:
    return timestamp.seconds * 1000 + timestamp.nanos // 1_000_000


def _day(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).date().isoformat()


def _json_list(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value)


# ---- reads ----

@dataclass(frozen=True, slots=True)
class DeliveryContext:
    """What handling one SNS delivery needs from the read model, read in one query."""

    provider: ProviderTopics | None
    already_recorded: bool


@dataclass(frozen=True, slots=True)
class FeedbackRecordView:
    sequence: int
    kind: str
    provider_id: str
    recipient: str
    bounce_type: str
    bounce_subtype: str
    status: str
    feedback_type: str
    diagnostic_code: str
    ses_message_id: str
    dispatch_id: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackFilter:
    account_id: str
    provider_id: str = ""
    kind: str = ""
    recipient_hash: str = ""
    before_sequence: int = 0  # 0 = from the newest


class FeedbackReadModel:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def dispatch_ids(self, account_id: str, ses_message_ids: Iterable[str]) -> dict[str, str]:
        ids = list(ses_message_ids)
        if not ids:
            return {}
        query = select(dispatches.c.ses_message_id, dispatches.c.dispatch_id).where(
            dispatches.c.ses_message_id.in_(ids), dispatches.c.account_id == account_id)
        async with self.engine.connect() as conn:
            return {row.ses_message_id: row.dispatch_id for row in await conn.execute(query)}

    async def list_records(self, where: FeedbackFilter, limit: int) -> list[FeedbackRecordView]:
        conditions = [records.c.account_id == where.account_id]
        if where.provider_id:
            conditions.append(records.c.provider_id == where.provider_id)
        if where.kind:
            conditions.append(records.c.kind == where.kind)
        if where.recipient_hash:
            conditions.append(records.c.recipient_hash == where.recipient_hash)
        if where.before_sequence:
            conditions.append(records.c.stream_seq < where.before_sequence)
        query = select(records).where(and_(*conditions)).order_by(records.c.stream_seq.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [_record_view(row) for row in (await conn.execute(query)).mappings()]

    async def recipient_flags(self, account_id: str, recipient_hash: str, soft_since: datetime) -> tuple[bool, bool, int]:
        """(hard bounced ever, complained ever, soft bounces since `soft_since`)."""
        mine = and_(records.c.account_id == account_id, records.c.recipient_hash == recipient_hash)
        soft_since_ms = int(soft_since.timestamp() * 1000)
        query = select(
            exists().where(mine, records.c.kind == "bounce", records.c.bounce_type == "Permanent").label("hard"),
            exists().where(mine, records.c.kind == "complaint").label("complained"),
            select(func.count()).select_from(records).where(
                mine, records.c.kind == "bounce", records.c.bounce_type != "Permanent",
                records.c.occurred_at_ms >= soft_since_ms).scalar_subquery().label("soft"),
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).one()
        return bool(row.hard), bool(row.complained), int(row.soft or 0)

    async def counts(self, account_id: str, provider_id: str, first_day: date) -> FeedbackCounts:
        query = select(*(func.coalesce(func.sum(daily_counts.c[c]), 0) for c in _COUNT_COLUMNS)).where(
            daily_counts.c.account_id == account_id, daily_counts.c.provider_id == provider_id,
            daily_counts.c.day >= first_day.isoformat())
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).one()
        return FeedbackCounts(*(int(value) for value in row))

    async def provider_keys(self) -> list[tuple[str, str]]:
        async with self.engine.connect() as conn:
            return [(row.account_id, row.provider_id)
                    for row in await conn.execute(select(providers.c.account_id, providers.c.provider_id))]

    async def provider_exists(self, account_id: str, provider_id: str) -> bool:
        query = select(exists().where(providers.c.account_id == account_id, providers.c.provider_id == provider_id))
        async with self.engine.connect() as conn:
            return bool(await conn.scalar(query))


_DELIVERY_CONTEXT = (
    select(providers.c.account_id, providers.c.topic_arns, providers.c.allow_first_topic,
           exists().where(sns_messages.c.provider_id == bindparam("provider_id"),
                          sns_messages.c.sns_message_id == bindparam("sns_message_id")).label("recorded"))
    .select_from(select(literal_column("1").label("one")).subquery("one"))
    .outerjoin(providers, providers.c.provider_id == bindparam("provider_id"))
)


def _delivery_context_of(account_id: str | None, topic_arns: Any, allow_first: Any, recorded: Any) -> DeliveryContext:
    provider = None
    if account_id is not None:
        provider = ProviderTopics(account_id, tuple(_json_list(topic_arns)), bool(allow_first))
    return DeliveryContext(provider, bool(recorded))


class DeliveryContextReader:
    """The provider's topics and whether an SNS message is recorded, in one driver call: the SNS
    endpoint's only read-model query, made for every delivery.

    Through SQLAlchemy's async pool one lookup costs about 0.6 ms of CPU (a checkout, four thread
    hops on aiosqlite, a reset on return); straight through the driver it is one call, with the
    statement SQLAlchemy compiles from the same tables, in autocommit, so every committed
    projection batch is seen. On SQLite the call is made on the event loop itself: in WAL mode a
    reader never waits for the projection's writes, and a primary-key lookup takes microseconds,
    less than handing it to a thread. On PostgreSQL it is one asyncpg round trip.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        compiled = _DELIVERY_CONTEXT.compile(dialect=engine.dialect)
        self._sql = str(compiled)
        self._order = list(compiled.positiontup or ())
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: Any = None

    async def start(self) -> None:
        url = self.engine.url
        if url.get_backend_name() == "sqlite":
            # A short busy timeout: a lookup that cannot read at once is answered 503 (SNS retries)
            # rather than holding up every other request on the loop.
            self._sqlite = sqlite3.connect(url.database or ":memory:", isolation_level=None, timeout=0.2)
        else:
            import asyncpg
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._postgres = await asyncpg.create_pool(dsn, min_size=1, max_size=4)

    async def stop(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._postgres is not None:
            await self._postgres.close()
            self._postgres = None

    async def delivery_context(self, provider_id: str, sns_message_id: str) -> DeliveryContext:
        values = {"provider_id": provider_id, "sns_message_id": sns_message_id}
        params = [values[name] for name in self._order]
        if self._sqlite is not None:
            row = self._sqlite.execute(self._sql, params).fetchone()
        else:
            row = await self._postgres.fetchrow(self._sql, *params)
        return _delivery_context_of(row[0], row[1], row[2], row[3])


def _record_view(row: Any) -> FeedbackRecordView:
    return FeedbackRecordView(
        sequence=row["stream_seq"], kind=row["kind"], provider_id=row["provider_id"], recipient=row["recipient"],
        bounce_type=row["bounce_type"], bounce_subtype=row["bounce_subtype"], status=row["status"],
        feedback_type=row["feedback_type"], diagnostic_code=row["diagnostic_code"],
        ses_message_id=row["ses_message_id"], dispatch_id=row["dispatch_id"],
        occurred_at=datetime.fromtimestamp(row["occurred_at_ms"] / 1000, UTC))
