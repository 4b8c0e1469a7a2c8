"""The feedback read model's queries: what the SNS endpoint and the gRPC API read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, literal_column, select

from services.core.database import rows_in
from services.core.driver_query import DriverQuery
from services.core.live_engine import LiveEngine
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

        def query(chunk: list[str]):
            return select(dispatches.c.ses_message_id, dispatches.c.dispatch_id).where(
                dispatches.c.ses_message_id.in_(chunk), dispatches.c.account_id == account_id
            )

        async with self.engine.connect() as conn:
            return {row.ses_message_id: row.dispatch_id for row in await rows_in(conn, query, ids)}

    async def trace_parents(self, account_id: str, dispatch_ids: Iterable[str]) -> dict[str, str]:
        """The trace each of these dispatches was sent in (where tracing was on)."""
        ids = list(dispatch_ids)
        if not ids:
            return {}

        def query(chunk: list[str]):
            return select(dispatches.c.dispatch_id, dispatches.c.trace_parent).where(
                dispatches.c.dispatch_id.in_(chunk),
                dispatches.c.account_id == account_id,
                dispatches.c.trace_parent != "",
            )

        async with self.engine.connect() as conn:
            return {row.dispatch_id: row.trace_parent for row in await rows_in(conn, query, ids)}

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
    endpoint's only read-model query, made for every delivery (services/core/driver_query.py).

    A short busy timeout on SQLite: a lookup that cannot read at once is answered 503 (SNS retries)
    rather than queueing every lookup behind it."""

    def __init__(self, engine: LiveEngine) -> None:
        self._query = DriverQuery(engine, _DELIVERY_CONTEXT, name="feedback-lookups", sqlite_timeout=0.2)

    async def start(self) -> None:
        await self._query.start()

    async def stop(self) -> None:
        await self._query.stop()

    async def delivery_context(self, provider_id: str, sns_message_id: str) -> DeliveryContext:
        [row] = await self._query.rows(provider_id=provider_id, sns_message_id=sns_message_id)
        return _delivery_context_of(row[0], row[1], row[2], row[3])


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
