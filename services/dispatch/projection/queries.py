"""The dispatch read model's queries: what the API and the workers read."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Iterable

import json

from sqlalchemy import and_, bindparam, exists, or_, select, tuple_

from services.core.database import rows_in
from services.core.driver_query import DriverQuery
from services.core.live_engine import LiveEngine
from services.dispatch.content import Hold
from services.dispatch.domain import QUEUED, SENDING
from services.dispatch.guard import Scope, SendRecord
from services.dispatch.listing import DispatchFilter
from services.dispatch.pauses import Cause, Pause, is_active
from services.dispatch.projection.content_holds import content_holds
from services.dispatch.projection.dispatches import dispatch_recipients, dispatch_tags, dispatches
from services.dispatch.projection.guard import guard_resets, guard_sends
from services.dispatch.projection.providers import provider_pauses, providers
from services.dispatch.projection.ses_receipts import ses_receipts
from services.dispatch.projection.suppressions import as_utc, suppressions
from services.core.per_turn import PerTurn
from services.core.suppression_rule import SuppressionEntry


# A send's suppression look-up, one recipient at a time: on SQLite the look-ups of one loop turn go
# to the driver in one thread hop (services/core/driver_query.py), which cost a tenth of the same
# look-ups through SQLAlchemy's pool; on PostgreSQL one IN query per account is one round trip.
_RECIPIENT_SUPPRESSIONS = select(suppressions.c.reason, suppressions.c.list_id, suppressions.c.since).where(
    suppressions.c.account_id == bindparam("account_id"),
    suppressions.c.recipient_hash == bindparam("recipient_hash"),
)


class SuppressionChecks:
    """Coalesces the look-ups of concurrent sends: one query per account and event-loop turn, not one per email."""

    def __init__(self, read_model: "DispatchReadModel") -> None:
        self.read_model = read_model
        self._per_turn: PerTurn[tuple[str, list[str]], dict[str, list[SuppressionEntry]]] = PerTurn(self._answer_all)
        self._driver = DriverQuery(read_model.engine, _RECIPIENT_SUPPRESSIONS, name="dispatch-suppressions")
        self._since_of: Callable[[Any], datetime] | None = None  # the dialect's, once it is known

    async def entries(self, account_id: str, hashes: list[str]) -> dict[str, list[SuppressionEntry]]:
        if self.read_model.engine.dialect.name == "sqlite":
            return await self._from_driver(account_id, hashes)
        return await self._per_turn.ask((account_id, hashes))

    async def close(self) -> None:
        await self._driver.stop()

    async def _from_driver(self, account_id: str, hashes: list[str]) -> dict[str, list[SuppressionEntry]]:
        since_of = self._since_of = self._since_of or _since_of(self.read_model.engine.dialect)
        wanted = list(dict.fromkeys(hashes))
        # Asked together, so that the driver query answers them in one hop.
        answers = await asyncio.gather(
            *(self._driver.rows(account_id=account_id, recipient_hash=recipient_hash) for recipient_hash in wanted)
        )
        return {
            recipient_hash: [SuppressionEntry(reason, list_id, since_of(since)) for reason, list_id, since in rows]
            for recipient_hash, rows in zip(wanted, answers)
            if rows
        }

    async def _answer_all(
        self, asked: list[tuple[str, list[str]]]
    ) -> list[dict[str, list[SuppressionEntry]] | BaseException]:
        found: dict[str, dict[str, list[SuppressionEntry]] | BaseException] = {}
        for account_id in dict.fromkeys(account for account, _ in asked):
            hashes = (h for account, wanted in asked if account == account_id for h in wanted)
            try:
                found[account_id] = await self.read_model.suppression_entries(account_id, hashes)
            except Exception as error:  # that account's senders get it; the others their answers
                found[account_id] = error
        return [_entries_of(found[account_id], hashes) for account_id, hashes in asked]


def _since_of(dialect) -> Callable[[Any], datetime]:
    """The driver's `since` as SQLAlchemy would give it (SQLite keeps a DateTime as text), in UTC."""
    # SQLAlchemy types it as giving `Any | None`; `since` is NOT NULL, so a datetime.
    process: Callable[[Any], Any] | None = suppressions.c.since.type.dialect_impl(dialect).result_processor(
        dialect, None
    )
    return (lambda value: as_utc(process(value))) if process is not None else as_utc


def _entries_of(
    found: dict[str, list[SuppressionEntry]] | BaseException, hashes: list[str]
) -> dict[str, list[SuppressionEntry]] | BaseException:
    if isinstance(found, BaseException):
        return found
    return {h: found[h] for h in hashes if h in found}


class DispatchReadModel:
    def __init__(self, engine: LiveEngine) -> None:
        self.engine = engine

    async def dispatch(self, dispatch_id: str) -> dict[str, Any] | None:
        """The dispatch's row with its recipients and tags."""
        return (await self.dispatches_by_id([dispatch_id])).get(dispatch_id)

    async def dispatches_by_id(self, dispatch_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The rows (as `dispatch` gives them) of those of these dispatches the read model holds."""
        async with self.engine.connect() as conn:
            rows = await rows_in(
                conn, lambda chunk: select(dispatches).where(dispatches.c.dispatch_id.in_(chunk)), list(dispatch_ids)
            )
            held = await _with_details(conn, [dict(row._mapping) for row in rows]) if rows else []
        return {row["dispatch_id"]: row for row in held}

    async def content_digests_of(self, dispatch_ids: Iterable[str]) -> dict[str, set[str]]:
        """The content each of these dispatches names, by dispatch (none: not in the result)."""
        found: dict[str, set[str]] = defaultdict(set)
        async with self.engine.connect() as conn:
            rows = await rows_in(
                conn,
                lambda chunk: select(content_holds.c.dispatch_id, content_holds.c.sha256).where(
                    content_holds.c.dispatch_id.in_(chunk)
                ),
                list(dispatch_ids),
            )
        for row in rows:
            found[row.dispatch_id].add(row.sha256)
        return dict(found)

    async def content_digests(self, dispatch_id: str) -> set[str]:
        return (await self.content_digests_of([dispatch_id])).get(dispatch_id, set())

    async def content_holds(self, digests: Iterable[str]) -> dict[str, Hold]:
        """Per digest that any dispatch names: whether one is still open, and the latest outcome."""
        holds: dict[str, Hold] = {}
        async with self.engine.connect() as conn:
            rows = await rows_in(
                conn, lambda chunk: select(content_holds).where(content_holds.c.sha256.in_(chunk)), list(digests)
            )
        for row in rows:
            before = holds.get(row.sha256, Hold(False, 0.0))
            holds[row.sha256] = Hold(
                before.open or row.settled_at is None, max(before.last_settled_at, row.settled_at or 0.0)
            )
        return holds

    async def provider(self, account_id: str, provider_id: str) -> tuple[dict[str, Any] | None, tuple[Pause, ...]]:
        """The provider's row (its fallbacks a list) and the pauses in force on it."""
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(providers).where(
                            providers.c.account_id == account_id, providers.c.provider_id == provider_id
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None, ()
            pause_rows = (
                (
                    await conn.execute(
                        select(provider_pauses)
                        .where(provider_pauses.c.account_id == account_id, provider_pauses.c.provider_id == provider_id)
                        .order_by(provider_pauses.c.paused_seq)
                    )
                )
                .mappings()
                .all()
            )
        found = dict(row)
        found["fallback_provider_ids"] = tuple(json.loads(found["fallback_provider_ids"] or "[]"))
        pauses = tuple(
            Pause(Cause(p["cause"]), Scope(p["scope"]), p["reason"], p["paused_seq"])
            for p in pause_rows
            if is_active(
                Cause(p["cause"]),
                p["paused_seq"],
                row["saved_seq"],
                paused_tenant=p["ses_tenant"],
                tenant=row["ses_tenant"],
            )
        )
        return found, pauses

    async def provider_keys(self) -> list[tuple[str, str]]:
        """Every saved provider, as (account_id, provider_id)."""
        async with self.engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(select(providers.c.account_id, providers.c.provider_id)))]

    async def guard_records(self, account_id: str, provider_id: str, limit: int) -> list[SendRecord]:
        """The provider's newest sends since it was last resumed, newest first."""
        async with self.engine.connect() as conn:
            resumed = (
                await conn.scalar(
                    select(guard_resets.c.resumed_seq).where(
                        guard_resets.c.account_id == account_id, guard_resets.c.provider_id == provider_id
                    )
                )
                or 0
            )
            query = (
                select(guard_sends.c.sent_at, guard_sends.c.bounced, guard_sends.c.complained)
                .where(
                    guard_sends.c.account_id == account_id,
                    guard_sends.c.provider_id == provider_id,
                    guard_sends.c.sent_seq > resumed,
                )
                .order_by(guard_sends.c.sent_seq.desc())
                .limit(limit)
            )
            rows = (await conn.execute(query)).all()
        return [SendRecord(sent_at, bool(bounced), bool(complained)) for sent_at, bounced, complained in rows]

    async def ses_receipt(self, dispatch_id: str) -> dict[str, Any] | None:
        """SES's feedback about this dispatch, if any has arrived: proof that it was sent."""
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(select(ses_receipts).where(ses_receipts.c.dispatch_id == dispatch_id)))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    async def suppression_entries(self, account_id: str, hashes: Iterable[str]) -> dict[str, list[SuppressionEntry]]:
        def query(chunk: list[str]):
            return select(
                suppressions.c.recipient_hash, suppressions.c.reason, suppressions.c.list_id, suppressions.c.since
            ).where(suppressions.c.account_id == account_id, suppressions.c.recipient_hash.in_(chunk))

        found: dict[str, list[SuppressionEntry]] = defaultdict(list)
        async with self.engine.connect() as conn:
            rows = await rows_in(conn, query, sorted(set(hashes)))
        for recipient_hash, reason, list_id, since in rows:
            found[recipient_hash].append(SuppressionEntry(reason, list_id, as_utc(since)))
        return found

    async def list_suppressions(
        self, account_id: str, page_size: int, after: tuple[str, str, str, str] | None
    ) -> list[dict[str, Any]]:
        key = tuple_(suppressions.c.recipient_hash, suppressions.c.list_id, suppressions.c.reason)
        query = select(suppressions).where(suppressions.c.account_id == account_id)
        if after:
            query = query.where(key > tuple_(*after[1:]))
        query = query.order_by(suppressions.c.recipient_hash, suppressions.c.list_id, suppressions.c.reason)
        async with self.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(query.limit(page_size))).mappings()]

    async def list_dispatches(
        self, account_id: str, wanted: DispatchFilter, limit: int, before_seq: int | None = None
    ) -> list[dict[str, Any]]:
        """The account's dispatches that `wanted` matches, newest first, each with its recipients and tags."""
        query = select(dispatches).where(dispatches.c.account_id == account_id, *_conditions(account_id, wanted))
        if before_seq is not None:
            query = query.where(dispatches.c.queued_seq < before_seq)
        query = query.order_by(dispatches.c.queued_seq.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return await _with_details(conn, [dict(row) for row in (await conn.execute(query)).mappings()])


async def _with_details(conn, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` with each dispatch's recipients and tags added."""
    ids = [row["dispatch_id"] for row in rows]
    recipients = _by_dispatch(
        await rows_in(
            conn,
            lambda chunk: select(dispatch_recipients.c.dispatch_id, dispatch_recipients.c.recipient).where(
                dispatch_recipients.c.dispatch_id.in_(chunk)
            ),
            ids,
        )
    )
    tags = _by_dispatch(
        await rows_in(
            conn,
            lambda chunk: select(dispatch_tags.c.dispatch_id, dispatch_tags.c.name, dispatch_tags.c.value).where(
                dispatch_tags.c.dispatch_id.in_(chunk)
            ),
            ids,
        )
    )
    for row in rows:
        row["recipients"] = sorted(recipients.get(row["dispatch_id"], []))
        row["tags"] = dict(tags.get(row["dispatch_id"], []))
    return rows


def _conditions(account_id: str, wanted: DispatchFilter) -> list:
    conditions = []
    if wanted.statuses:
        conditions.append(or_(*(_status_is(status) for status in wanted.statuses)))
    if wanted.provider_id:
        conditions.append(dispatches.c.provider_id == wanted.provider_id)
    if wanted.list_id:
        conditions.append(dispatches.c.list_id == wanted.list_id)
    if wanted.queued_after_ms is not None:
        conditions.append(dispatches.c.queued_at_ms >= wanted.queued_after_ms)
    if wanted.queued_before_ms is not None:
        conditions.append(dispatches.c.queued_at_ms < wanted.queued_before_ms)
    if wanted.recipient_hash:
        conditions.append(
            exists().where(
                dispatch_recipients.c.account_id == account_id,
                dispatch_recipients.c.recipient_hash == wanted.recipient_hash,
                dispatch_recipients.c.dispatch_id == dispatches.c.dispatch_id,
            )
        )
    if wanted.tag_name:
        tag = [dispatch_tags.c.dispatch_id == dispatches.c.dispatch_id, dispatch_tags.c.name == wanted.tag_name]
        if wanted.tag_value is not None:
            tag.append(dispatch_tags.c.value == wanted.tag_value)
        conditions.append(exists().where(*tag))
    return conditions


def _status_is(status: str):
    # SENDING is a queued dispatch with an attempt made, as GetDispatch shows it.
    if status == SENDING:
        return and_(dispatches.c.status == QUEUED, dispatches.c.attempts > 0)
    if status == QUEUED:
        return and_(dispatches.c.status == QUEUED, dispatches.c.attempts == 0)
    return dispatches.c.status == status


def _by_dispatch(rows) -> dict[str, list]:
    found: dict[str, list] = defaultdict(list)
    for dispatch_id, *rest in rows:
        found[dispatch_id].append(rest[0] if len(rest) == 1 else tuple(rest))
    return found
