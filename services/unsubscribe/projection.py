"""The unsubscribe read model: one row per account, recipient hash and list while unsubscribed; and
which providers' SES suppression lists hold an address (a resubscribe says so)."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import delete_in, upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent, occurred_at
from services.core.generated.postroom.v1 import events_pb2
from services.core.live_engine import LiveEngine
from services.core.projection import Projection
from services.core.ses_listings import SesListingsProjection, ses_listings_table
from services.unsubscribe.domain import SubscriptionState, UnsubscribeEntry

metadata = MetaData()

unsubscribes = Table(
    "unsubscribe_unsubscribes",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),
    Column("list_id", String(128), primary_key=True),  # "" = every list
    Column("reason", String(500), nullable=False),
    Column("source", String(16), nullable=False),
    Column("dispatch_id", String(64), nullable=False),
    Column("unsubscribed_at", DateTime(timezone=True), nullable=False),
    Column("version", BigInteger, nullable=False),
)

Key = tuple[str, str, str]


class UnsubscribeProjection(Projection):
    name = "unsubscribe.unsubscribes"
    version = 1
    metadata = metadata

    def new_changes(self) -> dict[Key, dict[str, Any] | None]:
        return {}  # the batch coalesced: each subscription's final state

    @handles(events_pb2.Unsubscribed)
    def unsubscribed(self, final: dict, stored: StoredEvent, payload: events_pb2.Unsubscribed) -> None:
        row = _row(stored.event.account_id, payload, stored)
        final[(row["account_id"], row["recipient_hash"], row["list_id"])] = row

    @handles(events_pb2.Resubscribed)
    def resubscribed(self, final: dict, stored: StoredEvent, payload: events_pb2.Resubscribed) -> None:
        final[(stored.event.account_id, payload.recipient_hash, payload.list_id)] = None

    async def write(self, conn: AsyncConnection, final: dict[Key, dict[str, Any] | None]) -> None:
        subscription = tuple_(unsubscribes.c.account_id, unsubscribes.c.recipient_hash, unsubscribes.c.list_id)
        await delete_in(conn, unsubscribes, subscription, [key for key, row in final.items() if row is None])
        await upsert(
            conn,
            unsubscribes,
            [row for row in final.values() if row is not None],
            ["account_id", "recipient_hash", "list_id"],
        )


class UnsubscribeSesListingsProjection(SesListingsProjection):
    """As config imported them: SES drops mail to these addresses whatever Postroom says."""

    name = "unsubscribe.ses_listings"
    version = 2  # 2: the shared columns of services/core/ses_listings.py
    table = ses_listings_table("unsubscribe_ses_listings")


ses_listings = UnsubscribeSesListingsProjection.table


def _row(account_id: str, payload, stored: StoredEvent) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "recipient_hash": payload.recipient_hash,
        "list_id": payload.list_id,
        "reason": payload.reason,
        "source": payload.source,
        "dispatch_id": payload.dispatch_id,
        "unsubscribed_at": occurred_at(stored.event),
        "version": stored.stream_seq,
    }


class UnsubscribeReadModel:
    def __init__(self, engine: LiveEngine) -> None:
        self.engine = engine

    async def status(self, account_id: str, recipient_hash: str) -> SubscriptionState:
        query = select(unsubscribes.c.list_id).where(
            unsubscribes.c.account_id == account_id, unsubscribes.c.recipient_hash == recipient_hash
        )
        listed_by = select(ses_listings.c.provider_id).where(
            ses_listings.c.account_id == account_id, ses_listings.c.recipient_hash == recipient_hash
        )
        async with self.engine.connect() as conn:
            lists = sorted(row[0] for row in await conn.execute(query))
            providers = tuple(sorted(row[0] for row in await conn.execute(listed_by)))
        return SubscriptionState(
            account_id=account_id,
            recipient_hash=recipient_hash,
            globally_unsubscribed="" in lists,
            unsubscribed_lists=tuple(name for name in lists if name),
            ses_suppressed_by=providers,
        )

    async def page(self, account_id: str, size: int, after: tuple[str, str] | None) -> list[UnsubscribeEntry]:
        query = select(unsubscribes).where(unsubscribes.c.account_id == account_id)
        if after is not None:
            after_hash, after_list = after
            query = query.where(
                or_(
                    unsubscribes.c.recipient_hash > after_hash,
                    and_(unsubscribes.c.recipient_hash == after_hash, unsubscribes.c.list_id > after_list),
                )
            )
        query = query.order_by(unsubscribes.c.recipient_hash, unsubscribes.c.list_id).limit(size)
        async with self.engine.connect() as conn:
            return [_entry(row) for row in (await conn.execute(query)).mappings()]


def _entry(row: Any) -> UnsubscribeEntry:
    moment = row["unsubscribed_at"]
    if moment.tzinfo is None:  # SQLite keeps no zone; every stored time is UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return UnsubscribeEntry(
        recipient_hash=row["recipient_hash"],
        list_id=row["list_id"],
        reason=row["reason"],
        source=row["source"],
        dispatch_id=row["dispatch_id"],
        unsubscribed_at=moment,
    )
