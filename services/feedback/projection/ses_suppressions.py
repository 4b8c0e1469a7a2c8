"""Which recipients SES's own account-level suppression list holds, per provider (one reason at a
time, as SES keeps it), as config
imported it (SesSuppressionImported) and Postroom took them off again (SesSuppressionRemoved)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table, and_, delete
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection

metadata = MetaData()

ses_suppressions = Table(
    "feedback_ses_suppressions", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("ses_reason", String(16), nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
)


class FeedbackSesSuppressionsProjection(Projection):
    """Changes are kept in stream order: a removal lifts only what was imported before it."""

    name = "feedback.ses_suppressions"
    version = 1
    metadata = metadata

    def new_changes(self) -> list:
        return []

    @handles(events_pb2.SesSuppressionImported)
    def imported(self, changes: list, stored: StoredEvent, imported: events_pb2.SesSuppressionImported) -> None:
        changes.append({"account_id": stored.event.account_id, "recipient_hash": imported.recipient_hash,
                        "provider_id": imported.provider_id, "ses_reason": imported.ses_reason[:16],
                        "stream_seq": stored.stream_seq})

    @handles(events_pb2.SesSuppressionRemoved)
    def removed(self, changes: list, stored: StoredEvent, removed: events_pb2.SesSuppressionRemoved) -> None:
        changes.append((stored.event.account_id, removed.recipient_hash, removed.provider_id))

    async def write(self, conn: AsyncConnection, changes: list) -> None:
        for change in changes:
            if isinstance(change, dict):
                await upsert(conn, ses_suppressions, [change], ["account_id", "recipient_hash", "provider_id"])
            else:
                await conn.execute(delete(ses_suppressions).where(and_(
                    ses_suppressions.c.account_id == change[0], ses_suppressions.c.recipient_hash == change[1],
                    ses_suppressions.c.provider_id == change[2])))
