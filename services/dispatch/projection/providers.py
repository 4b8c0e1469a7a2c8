"""Providers as dispatch sends through them, and their pauses: ProviderPaused (repeated failures,
the guard), ProviderResumed, and SES's own standing of the account (SesAccountObserved) and of the
provider's tenant (SesTenantObserved)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Column, Float, Integer, LargeBinary, MetaData, String, Table, Text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import delete_in, upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection
from services.dispatch.guard import Scope
from services.dispatch.pauses import Cause, ses_account_pause, ses_tenant_pause

metadata = MetaData()

providers = Table(
    "dispatch_providers",
    metadata,
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
    Column("ses_configuration_set", String(64), nullable=False),
    Column("ses_tenant", String(64), nullable=False),
    Column("fallback_provider_ids", Text, nullable=False),  # a JSON list, in the order they are tried
)

provider_pauses = Table(
    "dispatch_provider_pauses",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("cause", String(16), primary_key=True),
    Column("scope", String(24), nullable=False),
    Column("paused_seq", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("ses_tenant", String(64), nullable=False),  # the tenant SES disabled, for a ses_tenant pause
)

ProviderKey = tuple[str, str]
PauseKey = tuple[str, str, str]


@dataclass
class ProviderChanges:
    """One batch, coalesced: each provider's final row (None = deleted) and each pause's final row
    (None = lifted)."""

    final: dict[ProviderKey, dict[str, Any] | None] = field(default_factory=dict)
    pauses: dict[PauseKey, dict[str, Any] | None] = field(default_factory=dict)


class DispatchProvidersProjection(Projection):
    name = "dispatch.providers"
    version = 4  # 2: ses_configuration_set, ses_tenant; 3: pauses by cause, fallbacks; 4: tenant pauses
    metadata = metadata

    def new_changes(self) -> ProviderChanges:
        return ProviderChanges()

    @handles(events_pb2.ProviderSaved)
    def saved(self, changes: ProviderChanges, stored: StoredEvent, saved: events_pb2.ProviderSaved) -> None:
        account_id = stored.event.account_id
        changes.final[(account_id, stored.event.aggregate_id)] = {
            "account_id": account_id,
            "provider_id": saved.provider_id,
            "smtp_host": saved.smtp_host,
            "smtp_port": saved.smtp_port,
            "smtp_username": saved.smtp_username,
            "smtp_password_sealed": saved.smtp_password_sealed,
            "from_address": saved.from_address,
            "from_name": saved.from_name,
            "max_send_rate": saved.max_send_rate,
            "max_connections": saved.max_connections,
            "max_message_bytes": saved.max_message_bytes,
            "max_messages_per_connection": saved.max_messages_per_connection,
            "saved_seq": stored.stream_seq,
            "ses_configuration_set": saved.ses_configuration_set[:64],
            "ses_tenant": saved.ses_tenant[:64],
            "fallback_provider_ids": json.dumps(list(saved.fallback_provider_ids)),
        }

    @handles(events_pb2.ProviderDeleted)
    def deleted(self, changes: ProviderChanges, stored: StoredEvent, _deleted: events_pb2.ProviderDeleted) -> None:
        changes.final[(stored.event.account_id, stored.event.aggregate_id)] = None

    @handles(events_pb2.ProviderPaused)
    def paused(self, changes: ProviderChanges, stored: StoredEvent, paused: events_pb2.ProviderPaused) -> None:
        cause = paused.cause or Cause.FAILURES.value  # pauses recorded before the guard existed
        _pause(changes, stored, paused.provider_id, cause, paused.scope or Scope.ALL.value, paused.reason)

    @handles(events_pb2.ProviderResumed)
    def resumed(self, changes: ProviderChanges, stored: StoredEvent, resumed: events_pb2.ProviderResumed) -> None:
        for cause in Cause:
            if cause.lifted_by_resume:
                changes.pauses[(stored.event.account_id, resumed.provider_id, cause.value)] = None

    @handles(events_pb2.SesAccountObserved)
    def ses_account(
        self, changes: ProviderChanges, stored: StoredEvent, observed: events_pb2.SesAccountObserved
    ) -> None:
        reason = ses_account_pause(observed.enforcement_status, observed.sending_enabled)
        _mirror_ses(changes, stored, observed.provider_id, Cause.SES_ACCOUNT, reason)

    @handles(events_pb2.SesTenantObserved)
    def ses_tenant(self, changes: ProviderChanges, stored: StoredEvent, observed: events_pb2.SesTenantObserved) -> None:
        tenant = observed.tenant_name[:64]
        reason = ses_tenant_pause(tenant, observed.sending_status)
        _mirror_ses(changes, stored, observed.provider_id, Cause.SES_TENANT, reason, tenant)

    async def write(self, conn: AsyncConnection, changes: ProviderChanges) -> None:
        gone = [key for key, row in changes.final.items() if row is None]
        await delete_in(conn, providers, tuple_(providers.c.account_id, providers.c.provider_id), gone)
        await upsert(
            conn, providers, [row for row in changes.final.values() if row is not None], ["account_id", "provider_id"]
        )
        lifted = [key for key, row in changes.pauses.items() if row is None]
        pause = tuple_(provider_pauses.c.account_id, provider_pauses.c.provider_id, provider_pauses.c.cause)
        await delete_in(conn, provider_pauses, pause, lifted)
        await upsert(
            conn,
            provider_pauses,
            [row for row in changes.pauses.values() if row is not None],
            ["account_id", "provider_id", "cause"],
        )


def _mirror_ses(
    changes: ProviderChanges, stored: StoredEvent, provider_id: str, cause: Cause, reason: str | None, tenant: str = ""
) -> None:
    """SES's own standing, as a pause of all mail while it gives a reason, lifted when it gives none."""
    if reason is None:
        changes.pauses[(stored.event.account_id, provider_id, cause.value)] = None
    else:
        _pause(changes, stored, provider_id, cause.value, Scope.ALL.value, reason, tenant)


def _pause(
    changes: ProviderChanges,
    stored: StoredEvent,
    provider_id: str,
    cause: str,
    scope: str,
    reason: str,
    ses_tenant: str = "",
) -> None:
    account_id = stored.event.account_id
    changes.pauses[(account_id, provider_id, cause)] = {
        "account_id": account_id,
        "provider_id": provider_id,
        "cause": cause,
        "scope": scope,
        "paused_seq": stored.stream_seq,
        "reason": reason,
        "ses_tenant": ses_tenant,
    }
