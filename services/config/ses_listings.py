"""Config's read model of SES's suppression lists as imported: what the next import compares
with, and which providers list an address when a resubscribe asks to take it off."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.config.suppression_mirror import KnownListing
from services.core.database import upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection

metadata = MetaData()

ses_listings = Table(
    "config_ses_listings", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),
    Column("recipient", String(254), nullable=False),
    Column("ses_reason", String(16), nullable=False),
    Column("last_update_ms", BigInteger, nullable=False),
)


class SesListingsProjection(Projection):
    """Changes are kept in stream order: a removal undoes only the import before it."""

    name = "config.ses_listings"
    version = 1
    metadata = metadata

    def new_changes(self) -> list:
        return []

    @handles(events_pb2.SesSuppressionImported)
    def imported(self, changes: list, stored: StoredEvent, imported: events_pb2.SesSuppressionImported) -> None:
        changes.append({"account_id": stored.event.account_id, "provider_id": imported.provider_id,
                        "recipient_hash": imported.recipient_hash, "recipient": imported.recipient[:254],
                        "ses_reason": imported.ses_reason[:16],
                        "last_update_ms": imported.last_update_time.ToMilliseconds()})

    @handles(events_pb2.SesSuppressionRemoved)
    def removed(self, changes: list, stored: StoredEvent, removed: events_pb2.SesSuppressionRemoved) -> None:
        changes.append((stored.event.account_id, removed.provider_id, removed.recipient_hash))

    @handles(events_pb2.ProviderDeleted)
    def provider_deleted(self, changes: list, stored: StoredEvent, deleted: events_pb2.ProviderDeleted) -> None:
        changes.append((stored.event.account_id, deleted.provider_id, None))

    async def write(self, conn: AsyncConnection, changes: list) -> None:
        for change in changes:
            if isinstance(change, dict):
                await upsert(conn, ses_listings, [change], ["account_id", "provider_id", "recipient_hash"])
                continue
            account_id, provider_id, hashed = change
            where = and_(ses_listings.c.account_id == account_id, ses_listings.c.provider_id == provider_id)
            if hashed is not None:
                where = and_(where, ses_listings.c.recipient_hash == hashed)
            await conn.execute(delete(ses_listings).where(where))


class SesListingsReadModel:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def known(self, account_id: str, provider_id: str) -> dict[str, KnownListing]:
        query = select(ses_listings).where(ses_listings.c.account_id == account_id,
                                           ses_listings.c.provider_id == provider_id)
        async with self.engine.connect() as conn:
            return {row["recipient_hash"]: KnownListing(row["recipient"], row["ses_reason"], row["last_update_ms"])
                    for row in (await conn.execute(query)).mappings()}
