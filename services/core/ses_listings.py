"""SES's account-level suppression list as config imported it (SesSuppressionImported) and
Postroom took addresses off again (SesSuppressionRemoved): a row per account, provider and
recipient while SES lists it. Config, feedback and unsubscribe each keep a read model of their
own from these rows; a subclass names the projection and its table.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import BigInteger, Column, MetaData, String, Table, and_, delete
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection

KEY = ("account_id", "provider_id", "recipient_hash")


def ses_listings_table(table_name: str) -> Table:
    return Table(
        table_name,
        MetaData(),
        Column("account_id", String(64), primary_key=True),
        Column("provider_id", String(64), primary_key=True),
        Column("recipient_hash", String(64), primary_key=True),
        Column("recipient", String(254), nullable=False),
        Column("ses_reason", String(16), nullable=False),  # BOUNCE or COMPLAINT, as SES says
        Column("last_update_ms", BigInteger, nullable=False),  # when SES listed it
        Column("stream_seq", BigInteger, nullable=False),
    )


class SesListingsProjection(Projection):
    """Changes are kept in stream order: a removal lifts only what was imported before it."""

    table: ClassVar[Table]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "table" in cls.__dict__:
            cls.metadata = cls.table.metadata

    def new_changes(self) -> list:
        return []

    @handles(events_pb2.SesSuppressionImported)
    def imported(self, changes: list, stored: StoredEvent, imported: events_pb2.SesSuppressionImported) -> None:
        changes.append(
            {
                "account_id": stored.event.account_id,
                "provider_id": imported.provider_id,
                "recipient_hash": imported.recipient_hash,
                "recipient": imported.recipient[:254],
                "ses_reason": imported.ses_reason[:16],
                "last_update_ms": imported.last_update_time.ToMilliseconds(),
                "stream_seq": stored.stream_seq,
            }
        )

    @handles(events_pb2.SesSuppressionRemoved)
    def removed(self, changes: list, stored: StoredEvent, removed: events_pb2.SesSuppressionRemoved) -> None:
        changes.append((stored.event.account_id, removed.provider_id, removed.recipient_hash))

    async def write(self, conn: AsyncConnection, changes: list) -> None:
        for change in changes:
            if isinstance(change, dict):
                await upsert(conn, self.table, [change], KEY)
                continue
            account_id, provider_id, hashed = change  # hashed None: every listing of the provider
            where = and_(self.table.c.account_id == account_id, self.table.c.provider_id == provider_id)
            if hashed is not None:
                where = and_(where, self.table.c.recipient_hash == hashed)
            await conn.execute(delete(self.table).where(where))
