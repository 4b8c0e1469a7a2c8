"""The feedback read model's queries: what the SNS endpoint and the gRPC API read."""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, literal_column, select

from services.core.live_engine import LiveEngine
from services.core.per_turn import PerTurn
from services.core.suppression_rule import HARD_BOUNCE_TYPE
from services.feedback.domain import FeedbackCounts, ProviderTopics, RecipientEvidence
from services.feedback.projection.dispatches import dispatches
from services.feedback.projection.providers import json_list, providers
from services.feedback.projection.records import COUNT_COLUMNS, daily_counts, records
from services.feedback.projection.ses_suppressions import ses_suppressions
from services.feedback.projection.sns_messages import sns_messages


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
    def __init__(self, engine: LiveEngine) -> None:
        self.engine = engine

    async def dispatch_ids(self, account_id: str, ses_message_ids: Iterable[str]) -> dict[str, str]:
        ids = list(ses_message_ids)
        if not ids:
            return {}
        query = select(dispatches.c.ses_message_id, dispatches.c.dispatch_id).where(
            dispatches.c.ses_message_id.in_(ids), dispatches.c.account_id == account_id
        )
        async with self.engine.connect() as conn:
            return {row.ses_message_id: row.dispatch_id for row in await conn.execute(query)}

    async def trace_parents(self, account_id: str, dispatch_ids: Iterable[str]) -> dict[str, str]:
        """The trace each of these dispatches was sent in (where tracing was on)."""
        ids = list(dispatch_ids)
        if not ids:
            return {}
        query = select(dispatches.c.dispatch_id, dispatches.c.trace_parent).where(
            dispatches.c.dispatch_id.in_(ids), dispatches.c.account_id == account_id, dispatches.c.trace_parent != ""
        )
        async with self.engine.connect() as conn:
            return {row.dispatch_id: row.trace_parent for row in await conn.execute(query)}

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

    async def recipient_evidence(self, account_id: str, recipient_hash: str) -> RecipientEvidence:
        mine = and_(records.c.account_id == account_id, records.c.recipient_hash == recipient_hash)
        flags = select(
            exists().where(mine, records.c.kind == "bounce", records.c.bounce_type == HARD_BOUNCE_TYPE).label("hard"),
            exists().where(mine, records.c.kind == "complaint").label("complained"),
        )
        soft = select(records.c.occurred_at_ms).where(
            mine, records.c.kind == "bounce", records.c.bounce_type != HARD_BOUNCE_TYPE
        )
        listed = select(ses_suppressions.c.ses_reason).where(
            ses_suppressions.c.account_id == account_id, ses_suppressions.c.recipient_hash == recipient_hash
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(flags)).one()
            soft_times = tuple(datetime.fromtimestamp(ms / 1000, UTC) for ms in (await conn.execute(soft)).scalars())
            ses_reasons = tuple((await conn.execute(listed)).scalars())
        return RecipientEvidence(bool(row.hard), bool(row.complained), soft_times, ses_reasons)

    async def counts(self, account_id: str, provider_id: str, first_day: date) -> FeedbackCounts:
        query = select(*(func.coalesce(func.sum(daily_counts.c[c]), 0) for c in COUNT_COLUMNS)).where(
            daily_counts.c.account_id == account_id,
            daily_counts.c.provider_id == provider_id,
            daily_counts.c.day >= first_day.isoformat(),
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).one()
        return FeedbackCounts(*(int(value) for value in row))

    async def provider_keys(self) -> list[tuple[str, str]]:
        async with self.engine.connect() as conn:
            return [
                (row.account_id, row.provider_id)
                for row in await conn.execute(select(providers.c.account_id, providers.c.provider_id))
            ]

    async def provider_exists(self, account_id: str, provider_id: str) -> bool:
        query = select(exists().where(providers.c.account_id == account_id, providers.c.provider_id == provider_id))
        async with self.engine.connect() as conn:
            return bool(await conn.scalar(query))


_DELIVERY_CONTEXT = (
    select(
        providers.c.account_id,
        providers.c.topic_arns,
        providers.c.allow_first_topic,
        exists()
        .where(
            sns_messages.c.provider_id == bindparam("provider_id"),
            sns_messages.c.sns_message_id == bindparam("sns_message_id"),
        )
        .label("recorded"),
    )
    .select_from(select(literal_column("1").label("one")).subquery("one"))
    .outerjoin(providers, providers.c.provider_id == bindparam("provider_id"))
)


def _delivery_context_of(account_id: str | None, topic_arns: Any, allow_first: Any, recorded: Any) -> DeliveryContext:
    provider = None
    if account_id is not None:
        provider = ProviderTopics(account_id, tuple(json_list(topic_arns)), bool(allow_first))
    return DeliveryContext(provider, bool(recorded))


class DeliveryContextReader:
    """The provider's topics and whether an SNS message is recorded, in one driver call: the SNS
    endpoint's only read-model query, made for every delivery.

    Through SQLAlchemy's async pool one lookup costs about 0.6 ms of CPU (a checkout, four thread
    hops on aiosqlite, a reset on return); straight through the driver it is one call, with the
    statement SQLAlchemy compiles from the same tables, in autocommit, so every committed
    projection batch is seen. On SQLite the call is made on one thread of the reader's own, never
    on the event loop: a lookup that meets a WAL checkpoint or a busy database waits there, not
    with every other request behind it. On PostgreSQL it is one asyncpg round trip.

    The connection is to the generation being served: after a switch, the next lookup opens one to
    the new generation and closes the old.
    """

    def __init__(self, engine: LiveEngine) -> None:
        self.engine = engine
        self._sql = ""
        self._order: list[str] = []
        self._opened_for: object = None
        self._sqlite: sqlite3.Connection | None = None
        self._sqlite_thread: ThreadPoolExecutor | None = None
        self._postgres: Any = None
        self._connecting = asyncio.Lock()
        self._sqlite_lookups: PerTurn[list[str], Any] = PerTurn(self._sqlite_rows)

    async def start(self) -> None:
        compiled = _DELIVERY_CONTEXT.compile(dialect=self.engine.dialect)
        self._sql = str(compiled)
        self._order = list(compiled.positiontup or ())
        await self._connect()

    async def stop(self) -> None:
        if self._sqlite is not None:
            await self._sqlite_lookups.settle()  # what was asked is answered before the close
            connection, thread, self._sqlite, self._sqlite_thread = self._sqlite, self._sqlite_thread, None, None
            await asyncio.get_running_loop().run_in_executor(thread, connection.close)
            thread.shutdown(wait=False)
        if self._postgres is not None:
            await self._postgres.close()
            self._postgres = None

    async def delivery_context(self, provider_id: str, sns_message_id: str) -> DeliveryContext:
        if self._opened_for is not self.engine.generation:
            async with self._connecting:
                if self._opened_for is not self.engine.generation:
                    await self._connect()
        values = {"provider_id": provider_id, "sns_message_id": sns_message_id}
        params = [values[name] for name in self._order]
        if self._sqlite is not None:
            row = await self._sqlite_lookups.ask(params)
        else:
            row = await self._postgres.fetchrow(self._sql, *params)
        return _delivery_context_of(row[0], row[1], row[2], row[3])

    async def _sqlite_rows(self, asked: list[list[str]]) -> list[Any]:
        """The lookups of one loop turn, on the reader's thread in one hop."""
        return await asyncio.get_running_loop().run_in_executor(
            self._sqlite_thread, _sqlite_rows, self._sqlite, self._sql, asked
        )

    async def _connect(self) -> None:
        await self.stop()
        url = self.engine.url
        generation = self.engine.generation
        if url.get_backend_name() == "sqlite":
            # A short busy timeout: a lookup that cannot read at once is answered 503 (SNS retries)
            # rather than queueing every lookup behind it.
            self._sqlite_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback-lookups")
            self._sqlite = await asyncio.get_running_loop().run_in_executor(
                self._sqlite_thread,
                partial(
                    sqlite3.connect,
                    url.database or ":memory:",
                    isolation_level=None,
                    timeout=0.2,
                    check_same_thread=False,
                ),
            )
        else:
            import asyncpg

            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._postgres = await asyncpg.create_pool(
                dsn, min_size=1, max_size=4, server_settings={"search_path": self.engine.schema}
            )
        self._opened_for = generation


def _sqlite_rows(connection: sqlite3.Connection, sql: str, asked: list[list[str]]) -> list[Any]:
    return [connection.execute(sql, params).fetchone() for params in asked]


def _record_view(row: Any) -> FeedbackRecordView:
    return FeedbackRecordView(
        sequence=row["stream_seq"],
        kind=row["kind"],
        provider_id=row["provider_id"],
        recipient=row["recipient"],
        bounce_type=row["bounce_type"],
        bounce_subtype=row["bounce_subtype"],
        status=row["status"],
        feedback_type=row["feedback_type"],
        diagnostic_code=row["diagnostic_code"],
        ses_message_id=row["ses_message_id"],
        dispatch_id=row["dispatch_id"],
        occurred_at=datetime.fromtimestamp(row["occurred_at_ms"] / 1000, UTC),
    )
