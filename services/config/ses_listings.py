"""Config's read model of SES's suppression lists as imported: what the next import compares
with, and which providers list an address when a resubscribe asks to take it off."""

from __future__ import annotations

from sqlalchemy import select

from services.config.suppression_mirror import KnownListing
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.live_engine import LiveEngine
from services.core.ses_listings import SesListingsProjection, ses_listings_table


class ConfigSesListingsProjection(SesListingsProjection):
    """What the next import compares with; a deleted provider's listings go with it."""

    name = "config.ses_listings"
    version = 2  # 2: the shared columns of services/core/ses_listings.py
    table = ses_listings_table("config_ses_listings")

    @handles(events_pb2.ProviderDeleted)
    def provider_deleted(self, changes: list, stored: StoredEvent, deleted: events_pb2.ProviderDeleted) -> None:
        changes.append((stored.event.account_id, deleted.provider_id, None))


ses_listings = ConfigSesListingsProjection.table


class SesListingsReadModel:
    def __init__(self, engine: LiveEngine) -> None:
        self.engine = engine

    async def known(self, account_id: str, provider_id: str) -> dict[str, KnownListing]:
        query = select(ses_listings).where(
            ses_listings.c.account_id == account_id, ses_listings.c.provider_id == provider_id
        )
        async with self.engine.connect() as conn:
            return {
                row["recipient_hash"]: KnownListing(row["recipient"], row["ses_reason"], row["last_update_ms"])
                for row in (await conn.execute(query)).mappings()
            }
