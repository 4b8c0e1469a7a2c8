"""Who dispatch must not mail, by the one suppression rule (services/core/suppression_rule.py):
hard bounces, complaints, repeated soft bounces, unsubscribes and SES's own suppression list, from
the feedback, unsubscribe and config services' events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import in_list_chunks, rows_in, upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent, occurred_at
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection
from services.core.suppression_rule import (
    GLOBAL,
    SES_LIST_REASONS,
    Reason,
    bounce_reason,
    feedback_once_key,
    ses_list_reason,
    soft_bounces_suppress_since,
)

metadata = MetaData()

suppressions = Table(
    "dispatch_suppressions",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),
    Column("list_id", String(128), primary_key=True),
    Column("reason", String(16), primary_key=True),
    Column("recipient", String(254), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
)

# One row per recipient of one SNS message, as feedback counts them: a retry that JetStream's
# duplicate window no longer caught must not count twice.
soft_bounces = Table(
    "dispatch_soft_bounces",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("sns_message_id", String(100), primary_key=True),
    Column("bounced_at", DateTime(timezone=True), nullable=False),
)

# SES's suppression list, per provider (each may be another SES account or region): an address is
# on it with one reason at a time, and suppressed here while any provider's list holds it.
ses_listed = Table(
    "dispatch_ses_listed",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("reason", String(16), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
)

RecipientKey = tuple[str, str]


@dataclass(frozen=True)
class _Suppress:
    row: dict[str, Any]


@dataclass(frozen=True)
class _SoftBounce:
    key: RecipientKey
    recipient: str
    provider_id: str
    sns_message_id: str
    at: datetime
    seq: int


@dataclass(frozen=True)
class _SesListChange:
    key: RecipientKey
    provider_id: str
    listed: dict[str, Any] | None  # the ses_listed row; None: taken off the list


@dataclass(frozen=True)
class _Lift:
    key: RecipientKey
    reasons: tuple[str, ...]
    list_id: str = GLOBAL  # GLOBAL: whatever list


class SuppressionsProjection(Projection):
    """The batch's changes are kept in stream order: whether a soft bounce reaches the threshold
    depends on the ones before it, and a resubscribe lifts only what came before it."""

    name = "dispatch.suppressions"
    version = 2  # soft bounces once per SNS message, in any order; SES's list
    metadata = metadata

    def __init__(self, soft_bounce_threshold: int, soft_bounce_window_days: int) -> None:
        self.soft_bounce_threshold = soft_bounce_threshold
        self.soft_bounce_window_days = soft_bounce_window_days

    def new_changes(self) -> list:
        return []

    @handles(events_pb2.BounceReceived)
    def bounce(self, changes: list, stored: StoredEvent, bounce: events_pb2.BounceReceived) -> None:
        key, at = (stored.event.account_id, bounce.recipient_hash), _time_or(bounce.bounced_at, stored)
        if reason := bounce_reason(bounce.bounce_type):
            changes.append(_suppress(key, reason, bounce.recipient, at, stored.stream_seq))
        else:
            changes.append(
                _SoftBounce(
                    key,
                    bounce.recipient,
                    bounce.provider_id,
                    feedback_once_key(bounce.sns_message_id, stored.event.event_id),
                    at,
                    stored.stream_seq,
                )
            )

    @handles(events_pb2.ComplaintReceived)
    def complaint(self, changes: list, stored: StoredEvent, complaint: events_pb2.ComplaintReceived) -> None:
        changes.append(
            _suppress(
                (stored.event.account_id, complaint.recipient_hash),
                Reason.COMPLAINT,
                complaint.recipient,
                _time_or(complaint.complained_at, stored),
                stored.stream_seq,
            )
        )

    @handles(events_pb2.Unsubscribed)
    def unsubscribed(self, changes: list, stored: StoredEvent, unsubscribed: events_pb2.Unsubscribed) -> None:
        changes.append(
            _suppress(
                (stored.event.account_id, unsubscribed.recipient_hash),
                Reason.UNSUBSCRIBED,
                unsubscribed.recipient,
                occurred_at(stored.event),
                stored.stream_seq,
                unsubscribed.list_id,
            )
        )

    @handles(events_pb2.Resubscribed)
    def resubscribed(self, changes: list, stored: StoredEvent, resubscribed: events_pb2.Resubscribed) -> None:
        changes.append(
            _Lift((stored.event.account_id, resubscribed.recipient_hash), (Reason.UNSUBSCRIBED,), resubscribed.list_id)
        )

    @handles(events_pb2.SesSuppressionImported)
    def ses_listed(self, changes: list, stored: StoredEvent, imported: events_pb2.SesSuppressionImported) -> None:
        reason = ses_list_reason(imported.ses_reason)
        if reason is not None:
            key = (stored.event.account_id, imported.recipient_hash)
            row = {
                "account_id": key[0],
                "recipient_hash": key[1],
                "provider_id": imported.provider_id,
                "reason": reason,
                "recipient": imported.recipient,
                "since": _time_or(imported.last_update_time, stored),
                "stream_seq": stored.stream_seq,
            }
            changes.append(_SesListChange(key, imported.provider_id, row))

    @handles(events_pb2.SesSuppressionRemoved)
    def ses_unlisted(self, changes: list, stored: StoredEvent, removed: events_pb2.SesSuppressionRemoved) -> None:
        changes.append(_SesListChange((stored.event.account_id, removed.recipient_hash), removed.provider_id, None))

    async def write(self, conn: AsyncConnection, changes: list) -> None:
        # Consecutive suppressions, and consecutive changes of SES's list, go in a few statements
        # each (a first sync imports a whole list); any other change first writes those before it.
        suppressing: list[dict[str, Any]] = []
        listing: list[_SesListChange] = []
        for change in changes:
            if suppressing and not isinstance(change, _Suppress):
                await _upsert_suppressions(conn, suppressing)
                suppressing = []
            if listing and not isinstance(change, _SesListChange):
                await _change_ses_lists(conn, listing)
                listing = []
            if isinstance(change, _Suppress):
                suppressing.append(change.row)
            elif isinstance(change, _SesListChange):
                listing.append(change)
            elif isinstance(change, _SoftBounce):
                if since := await self._soft_bounces_suppress_since(conn, change):
                    suppressing.append(
                        _suppress(change.key, Reason.SOFT_BOUNCES, change.recipient, since, change.seq).row
                    )
            else:
                await _lift(conn, change)
        await _upsert_suppressions(conn, suppressing)
        await _change_ses_lists(conn, listing)

    async def _soft_bounces_suppress_since(self, conn: AsyncConnection, bounce: _SoftBounce) -> datetime | None:
        account_id, recipient_hash = bounce.key
        await upsert(
            conn,
            soft_bounces,
            [
                {
                    "account_id": account_id,
                    "recipient_hash": recipient_hash,
                    "provider_id": bounce.provider_id,
                    "sns_message_id": bounce.sns_message_id,
                    "bounced_at": bounce.at,
                }
            ],
            ["account_id", "recipient_hash", "provider_id", "sns_message_id"],
        )
        times = (
            await conn.execute(
                select(soft_bounces.c.bounced_at).where(
                    soft_bounces.c.account_id == account_id, soft_bounces.c.recipient_hash == recipient_hash
                )
            )
        ).scalars()
        return soft_bounces_suppress_since(
            [as_utc(t) for t in times], threshold=self.soft_bounce_threshold, window_days=self.soft_bounce_window_days
        )


def _suppress(
    key: RecipientKey, reason: str, recipient: str, since: datetime, seq: int, list_id: str = GLOBAL
) -> _Suppress:
    return _Suppress(
        {
            "account_id": key[0],
            "recipient_hash": key[1],
            "list_id": list_id,
            "reason": reason,
            "recipient": recipient,
            "since": since,
            "stream_seq": seq,
        }
    )


async def _upsert_suppressions(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await upsert(conn, suppressions, rows, ["account_id", "recipient_hash", "list_id", "reason"])


async def _lift(conn: AsyncConnection, change: _Lift) -> None:
    where = and_(
        suppressions.c.account_id == change.key[0],
        suppressions.c.recipient_hash == change.key[1],
        suppressions.c.reason.in_(change.reasons),
    )
    if change.list_id != GLOBAL:
        where = and_(where, suppressions.c.list_id == change.list_id)
    await conn.execute(delete(suppressions).where(where))


async def _change_ses_lists(conn: AsyncConnection, changes: list[_SesListChange]) -> None:
    """Consecutive changes of SES's list, leaving the tables as applying them one at a time would:
    each (recipient, provider) row as its last change left it, and each recipient's SES
    suppressions made again from what is listed for it, the earliest listing of a reason first."""
    last = {(change.key, change.provider_id): change for change in changes}
    await upsert(
        conn,
        ses_listed,
        [change.listed for change in last.values() if change.listed is not None],
        ["account_id", "recipient_hash", "provider_id"],
    )
    for (account_id, provider_id), hashes in _hashes_by(
        ((change.key[0], change.provider_id), change.key[1]) for change in last.values() if change.listed is None
    ).items():
        for chunk in in_list_chunks(hashes):
            await conn.execute(
                delete(ses_listed).where(
                    ses_listed.c.account_id == account_id,
                    ses_listed.c.provider_id == provider_id,
                    ses_listed.c.recipient_hash.in_(chunk),
                )
            )
    for account_id, hashes in _hashes_by((key[0], key[1]) for key, _ in last).items():
        await _remade_from_ses_lists(conn, account_id, hashes)


async def _remade_from_ses_lists(conn: AsyncConnection, account_id: str, hashes: list[str]) -> None:
    for chunk in in_list_chunks(hashes):
        await conn.execute(
            delete(suppressions).where(
                suppressions.c.account_id == account_id,
                suppressions.c.recipient_hash.in_(chunk),
                suppressions.c.reason.in_(tuple(SES_LIST_REASONS)),
            )
        )
    listings = await rows_in(
        conn,
        lambda chunk: (
            select(ses_listed)
            .where(ses_listed.c.account_id == account_id, ses_listed.c.recipient_hash.in_(chunk))
            .order_by(ses_listed.c.since)
        ),
        hashes,
    )
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for listed in (listing._mapping for listing in listings):
        rows.setdefault(
            (listed["recipient_hash"], listed["reason"]),
            _suppress(
                (account_id, listed["recipient_hash"]),
                listed["reason"],
                listed["recipient"],
                as_utc(listed["since"]),
                listed["stream_seq"],
            ).row,
        )
    await _upsert_suppressions(conn, list(rows.values()))


def _hashes_by(pairs: Iterable[tuple[Any, str]]) -> dict[Any, list[str]]:
    """Recipient hashes grouped by what comes with them, each once, in the order first seen."""
    grouped: dict[Any, dict[str, None]] = {}
    for group, recipient_hash in pairs:
        grouped.setdefault(group, {})[recipient_hash] = None
    return {group: list(hashes) for group, hashes in grouped.items()}


def _time_or(timestamp, stored: StoredEvent) -> datetime:
    return timestamp.ToDatetime(tzinfo=timezone.utc) if timestamp.seconds else occurred_at(stored.event)


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
