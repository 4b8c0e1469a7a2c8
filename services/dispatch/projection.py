"""Dispatch's read model: providers, their pauses, dispatches, and the suppression list.

One projection (one pass over the stream, one checkpoint) so the worker can wait for a single
sequence: once it covers an EmailQueued, every provider change and suppression before it is in.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import (BigInteger, Column, DateTime, Float, Integer, LargeBinary, MetaData, String, Table, Text,
                        and_, delete, select, tuple_)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.core.database import update_rows, upsert
from services.core.events import StoredEvent, occurred_at
from services.core.settings import Settings
from services.dispatch import suppression
from services.dispatch.suppression import SuppressionEntry

metadata = MetaData()

providers = Table(
    "dispatch_providers", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("smtp_host", String(253), nullable=False),
    Column("smtp_port", Integer, nullable=False),
    Column("smtp_username", String(128), nullable=False),
    Column("smtp_password_sealed", LargeBinary, nullable=False),
    Column("from_address", String(254), nullable=False),
    Column("from_name", String(200), nullable=False),
    Column("max_send_rate", Float, nullable=False),
    Column("max_connections", Integer, nullable=False),
    Column("max_message_bytes", Integer, nullable=False),
    Column("max_messages_per_connection", Integer, nullable=False),
    Column("saved_seq", BigInteger, nullable=False),
)

provider_pauses = Table(
    "dispatch_provider_pauses", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("paused_seq", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
)

dispatches = Table(
    "dispatch_dispatches", metadata,
    Column("dispatch_id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("provider_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("ses_message_id", String(128), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_smtp_reply", Text, nullable=False),
    Column("hint", Text, nullable=False),
    Column("queued_seq", BigInteger, nullable=False),
)

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

# Feedback naming a dispatch proves SES accepted its message. A worker that finds the email
# queued again (its sender crashed between SES's 250 and the outcome event) reads this first.
ses_receipts = Table(
    "dispatch_ses_receipts", metadata,
    Column("dispatch_id", String(64), primary_key=True),
    Column("ses_message_id", String(128), nullable=False),
    Column("evidence", String(32), nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
)

soft_bounces = Table(
    "dispatch_soft_bounces", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),
    Column("stream_seq", BigInteger, primary_key=True),
    Column("bounced_at", DateTime(timezone=True), nullable=False),
)


class EveryAggregate(frozenset):
    """Suppressions come from other services' aggregates (recipients, feedback, subscriptions),
    whose names are theirs to choose: this projection reads every subject and picks by event type."""

    def __contains__(self, _item: object) -> bool:
        return True


QUEUED, DISPATCHED, FAILED, SUPPRESSED = "QUEUED", "DISPATCHED", "FAILED", "SUPPRESSED"


class DispatchProjection:
    name = "dispatch.read_model"
    metadata = metadata
    aggregate_types = EveryAggregate()

    def __init__(self, soft_bounce_threshold: int | None = None, soft_bounce_window_days: int | None = None) -> None:
        # `postroom replay` builds projections without arguments: it must count as the live service does.
        defaults = Settings.from_env() if soft_bounce_threshold is None or soft_bounce_window_days is None else None
        self.soft_bounce_threshold = defaults.soft_bounce_threshold if defaults else soft_bounce_threshold
        self.soft_bounce_window_days = defaults.soft_bounce_window_days if defaults else soft_bounce_window_days

    async def apply(self, conn: AsyncConnection, events: list[StoredEvent]) -> None:
        by_kind: dict[str, list[StoredEvent]] = defaultdict(list)
        for stored in events:
            by_kind[_group(stored.event.WhichOneof("payload") or "")].append(stored)
        await _apply_providers(conn, by_kind["provider"])
        await _apply_dispatches(conn, by_kind["dispatch"])
        await _apply_receipts(conn, by_kind["recipient"] + by_kind["receipt"])
        for stored in by_kind["recipient"]:
            await self._apply_recipient_event(conn, stored)

    async def _apply_recipient_event(self, conn: AsyncConnection, stored: StoredEvent) -> None:
        event = stored.event
        kind = event.WhichOneof("payload")
        payload = getattr(event, kind)
        key = (event.account_id, payload.recipient_hash)
        if kind == "bounce_received":
            at = _time_or(payload.bounced_at, event)
            if suppression.bounce_reason(payload.bounce_type):
                await _suppress(conn, key, suppression.HARD_BOUNCE, payload.recipient, at, stored.stream_seq)
            elif await self._soft_bounce_reaches_threshold(conn, key, at, stored.stream_seq):
                await _suppress(conn, key, suppression.SOFT_BOUNCES, payload.recipient, at, stored.stream_seq)
        elif kind == "complaint_received":
            at = _time_or(payload.complained_at, event)
            await _suppress(conn, key, suppression.COMPLAINT, payload.recipient, at, stored.stream_seq)
        elif kind == "unsubscribed":
            await _suppress(conn, key, suppression.UNSUBSCRIBED, payload.recipient, occurred_at(event),
                            stored.stream_seq, payload.list_id)
        elif kind == "resubscribed":
            await _resubscribe(conn, key, payload.list_id)

    async def _soft_bounce_reaches_threshold(self, conn: AsyncConnection, key: tuple[str, str], at: datetime,
                                             seq: int) -> bool:
        await conn.execute(soft_bounces.insert().values(account_id=key[0], recipient_hash=key[1], stream_seq=seq,
                                                        bounced_at=at))
        times = (await conn.execute(select(soft_bounces.c.bounced_at).where(
            soft_bounces.c.account_id == key[0], soft_bounces.c.recipient_hash == key[1]))).scalars()
        return suppression.soft_bounces_exceed([_utc(t) for t in times], at, threshold=self.soft_bounce_threshold,
                                               window_days=self.soft_bounce_window_days)


_GROUPS = {
    "provider_saved": "provider", "provider_deleted": "provider", "provider_paused": "provider",
    "email_queued": "dispatch", "email_dispatched": "dispatch", "dispatch_failed": "dispatch",
    "email_suppressed": "dispatch", "dispatch_attempt_failed": "dispatch",
    "bounce_received": "recipient", "complaint_received": "recipient", "unsubscribed": "recipient",
    "resubscribed": "recipient", "delivery_received": "receipt",
}


def _group(kind: str) -> str:
    return _GROUPS.get(kind, "")


# ---- providers ----

async def _apply_providers(conn: AsyncConnection, events: list[StoredEvent]) -> None:
    final: dict[tuple[str, str], dict[str, Any] | None] = {}
    pauses: dict[tuple[str, str], dict[str, Any]] = {}
    for stored in events:
        event = stored.event
        kind = event.WhichOneof("payload")
        if kind == "provider_paused":
            paused = event.provider_paused
            pauses[(event.account_id, paused.provider_id)] = {
                "account_id": event.account_id, "provider_id": paused.provider_id,
                "paused_seq": stored.stream_seq, "reason": paused.reason}
        else:
            key = (event.account_id, event.aggregate_id)
            final[key] = _provider_row(event.account_id, event.provider_saved, stored.stream_seq) \
                if kind == "provider_saved" else None
    gone = [key for key, row in final.items() if row is None]
    if gone:
        await conn.execute(delete(providers).where(tuple_(providers.c.account_id, providers.c.provider_id).in_(gone)))
    await upsert(conn, providers, [row for row in final.values() if row is not None], ["account_id", "provider_id"])
    await upsert(conn, provider_pauses, list(pauses.values()), ["account_id", "provider_id"])


def _provider_row(account_id: str, saved, seq: int) -> dict[str, Any]:
    return {
        "account_id": account_id, "provider_id": saved.provider_id, "smtp_host": saved.smtp_host,
        "smtp_port": saved.smtp_port, "smtp_username": saved.smtp_username,
        "smtp_password_sealed": saved.smtp_password_sealed, "from_address": saved.from_address,
        "from_name": saved.from_name, "max_send_rate": saved.max_send_rate,
        "max_connections": saved.max_connections, "max_message_bytes": saved.max_message_bytes,
        "max_messages_per_connection": saved.max_messages_per_connection, "saved_seq": seq,
    }


# ---- dispatches ----

async def _apply_dispatches(conn: AsyncConnection, events: list[StoredEvent]) -> None:
    new_rows: dict[str, dict[str, Any]] = {}
    outcomes: dict[str, dict[str, Any]] = {}
    attempts: dict[str, dict[str, Any]] = {}
    for stored in events:
        event = stored.event
        dispatch_id = event.aggregate_id
        kind = event.WhichOneof("payload")
        if kind == "email_queued":
            new_rows[dispatch_id] = {
                "dispatch_id": dispatch_id, "account_id": event.account_id,
                "provider_id": event.email_queued.provider_id, "status": QUEUED, "ses_message_id": "",
                "attempts": 0, "last_smtp_reply": "", "hint": "", "queued_seq": stored.stream_seq}
        elif kind == "dispatch_attempt_failed":
            _note_attempt(dispatch_id, _attempt_values(event), new_rows, outcomes, attempts)
        elif dispatch_id in new_rows:
            new_rows[dispatch_id].update(_outcome_values(event))
        else:
            outcomes[dispatch_id] = _outcome_values(event)
            attempts.pop(dispatch_id, None)
    await upsert(conn, dispatches, list(new_rows.values()), ["dispatch_id"])
    await update_rows(conn, dispatches, [{"dispatch_id": dispatch_id, **values}
                                         for dispatch_id, values in outcomes.items()], ["dispatch_id"])
    # An attempt never overwrites an outcome, even one another replica recorded first.
    await update_rows(conn, dispatches, [{"dispatch_id": dispatch_id, "status": QUEUED, **values}
                                         for dispatch_id, values in attempts.items()], ["dispatch_id", "status"])


def _note_attempt(dispatch_id: str, values: dict[str, Any], new_rows: dict, outcomes: dict, attempts: dict) -> None:
    if dispatch_id in new_rows:
        if new_rows[dispatch_id]["status"] == QUEUED:
            new_rows[dispatch_id].update(values)
    elif dispatch_id not in outcomes:
        attempts[dispatch_id] = values


def _attempt_values(event) -> dict[str, Any]:
    attempt = event.dispatch_attempt_failed
    return {"attempts": attempt.attempt, "last_smtp_reply": attempt.smtp_reply, "hint": attempt.hint}


def _outcome_values(event) -> dict[str, Any]:
    kind = event.WhichOneof("payload")
    if kind == "email_dispatched":
        sent = event.email_dispatched
        return {"status": DISPATCHED, "ses_message_id": sent.ses_message_id, "attempts": sent.attempts,
                "last_smtp_reply": sent.smtp_reply, "hint": ""}
    if kind == "dispatch_failed":
        failed = event.dispatch_failed
        return {"status": FAILED, "ses_message_id": "", "attempts": failed.attempts,
                "last_smtp_reply": f"{failed.smtp_code} {failed.smtp_text}".strip() if failed.smtp_code else failed.smtp_text,
                "hint": failed.hint}
    suppressed = event.email_suppressed
    return {"status": SUPPRESSED, "ses_message_id": "", "attempts": 0, "last_smtp_reply": "",
            "hint": f"not sent: the recipient is suppressed ({suppressed.reason})"}


# ---- SES receipts ----

_FEEDBACK_EVIDENCE = {"bounce_received": "bounce", "complaint_received": "complaint",
                      "delivery_received": "delivery"}


async def _apply_receipts(conn: AsyncConnection, events: list[StoredEvent]) -> None:
    rows: dict[str, dict[str, Any]] = {}
    for stored in events:
        kind = stored.event.WhichOneof("payload")
        evidence = _FEEDBACK_EVIDENCE.get(kind or "")
        payload = getattr(stored.event, kind) if evidence else None
        if payload is not None and 0 < len(payload.dispatch_id) <= 64:     # longer is none of ours
            rows.setdefault(payload.dispatch_id, {
                "dispatch_id": payload.dispatch_id, "ses_message_id": payload.ses_message_id[:128],
                "evidence": evidence, "stream_seq": stored.stream_seq})
    await upsert(conn, ses_receipts, list(rows.values()), ["dispatch_id"])


# ---- suppressions ----

async def _suppress(conn: AsyncConnection, key: tuple[str, str], reason: str, recipient: str, since: datetime,
                    seq: int, list_id: str = suppression.GLOBAL) -> None:
    await upsert(conn, suppressions, [{
        "account_id": key[0], "recipient_hash": key[1], "list_id": list_id, "reason": reason,
        "recipient": recipient, "since": since, "stream_seq": seq}],
        ["account_id", "recipient_hash", "list_id", "reason"])


async def _resubscribe(conn: AsyncConnection, key: tuple[str, str], list_id: str) -> None:
    where = and_(suppressions.c.account_id == key[0], suppressions.c.recipient_hash == key[1],
                 suppressions.c.reason == suppression.UNSUBSCRIBED)
    if list_id != suppression.GLOBAL:
        where = and_(where, suppressions.c.list_id == list_id)
    await conn.execute(delete(suppressions).where(where))


def _time_or(timestamp, event) -> datetime:
    return timestamp.ToDatetime(tzinfo=timezone.utc) if timestamp.seconds else occurred_at(event)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# ---- queries ----

_IN_CHUNK = 500   # bound parameters per query, well under SQLite's and PostgreSQL's limits


class SuppressionChecks:
    """Coalesces the look-ups of concurrent sends: one query per event-loop turn, not one per email."""

    def __init__(self, read_model: "DispatchReadModel") -> None:
        self.read_model = read_model
        self._waiting: dict[str, list[tuple[list[str], asyncio.Future]]] = defaultdict(list)
        self._flushing = False

    async def entries(self, account_id: str, hashes: list[str]) -> dict[str, list[SuppressionEntry]]:
        answer = asyncio.get_running_loop().create_future()
        self._waiting[account_id].append((hashes, answer))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await answer

    async def _flush(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(0)             # let every ready sender add its recipients
                waiting, self._waiting = self._waiting, defaultdict(list)
                for account_id, items in waiting.items():
                    await self._answer(account_id, items)
        finally:
            self._flushing = False

    async def _answer(self, account_id: str, items: list[tuple[list[str], asyncio.Future]]) -> None:
        try:
            found = await self.read_model.suppression_entries(account_id, (h for hashes, _ in items for h in hashes))
        except Exception as error:
            for _, answer in items:
                answer.set_exception(error)
            return
        for hashes, answer in items:
            answer.set_result({h: found[h] for h in hashes if h in found})


class DispatchReadModel:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def dispatch(self, dispatch_id: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(dispatches).where(dispatches.c.dispatch_id == dispatch_id))).mappings().first()
        return dict(row) if row else None

    async def provider(self, account_id: str, provider_id: str) -> tuple[dict[str, Any] | None, str]:
        """The provider's row and, when it is paused, why."""
        join = providers.outerjoin(provider_pauses, and_(
            provider_pauses.c.account_id == providers.c.account_id,
            provider_pauses.c.provider_id == providers.c.provider_id))
        query = select(providers, provider_pauses.c.paused_seq, provider_pauses.c.reason).select_from(join).where(
            providers.c.account_id == account_id, providers.c.provider_id == provider_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None, ""
        paused = (row["paused_seq"] or 0) > row["saved_seq"]
        return dict(row), (row["reason"] if paused else "")

    async def ses_receipt(self, dispatch_id: str) -> dict[str, Any] | None:
        """SES's feedback about this dispatch, if any has arrived: proof that it was sent."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(ses_receipts).where(ses_receipts.c.dispatch_id == dispatch_id))).mappings().first()
        return dict(row) if row else None

    async def suppression_entries(self, account_id: str, hashes: Iterable[str]) -> dict[str, list[SuppressionEntry]]:
        wanted = sorted(set(hashes))
        found: dict[str, list[SuppressionEntry]] = defaultdict(list)
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                query = select(suppressions.c.recipient_hash, suppressions.c.reason, suppressions.c.list_id).where(
                    suppressions.c.account_id == account_id,
                    suppressions.c.recipient_hash.in_(wanted[start:start + _IN_CHUNK]))
                for recipient_hash, reason, list_id in (await conn.execute(query)).all():
                    found[recipient_hash].append(SuppressionEntry(reason, list_id))
        return found

    async def list_suppressions(self, account_id: str, page_size: int, after: tuple[str, str, str, str] | None
                                ) -> list[dict[str, Any]]:
        key = tuple_(suppressions.c.recipient_hash, suppressions.c.list_id, suppressions.c.reason)
        query = select(suppressions).where(suppressions.c.account_id == account_id)
        if after:
            query = query.where(key > tuple_(*after[1:]))
        query = query.order_by(suppressions.c.recipient_hash, suppressions.c.list_id, suppressions.c.reason)
        async with self.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(query.limit(page_size))).mappings()]
