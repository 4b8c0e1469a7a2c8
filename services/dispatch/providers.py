"""Providers as dispatch sees them: settings with the password opened, pauses, and health counting."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from services.core.event_store import EventStore
from services.core.projection import ProjectionRunner
from services.core.secret_box import SecretBox, SecretBoxError, provider_secret_aad
from services.dispatch.domain import DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MESSAGES_PER_CONNECTION, ProviderConfig
from services.dispatch.metrics import provider_paused, ses_account_sending, ses_tenant_sending
from services.dispatch.pauses import Cause, Pause, holding
from services.dispatch.projection import DispatchReadModel

CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class ProviderLookup:
    config: ProviderConfig | None
    pauses: tuple[Pause, ...] = ()
    problem: str = ""  # why a found provider cannot be used
    as_of: int = 0  # the read model's checkpoint when it was read

    @property
    def paused_reason(self) -> str:
        """Why the provider is paused (for any of its mail), or ""."""
        pause = holding(self.pauses, transactional=False)
        return pause.reason if pause else ""

    def holding_reason(self, transactional: bool) -> str:
        """Why this provider holds an email of this kind, or "" when it sends it."""
        pause = holding(self.pauses, transactional)
        return pause.reason if pause else ""


@dataclass
class ProviderDirectory:
    """Reads providers from the read model, briefly cached: a worker looks one up per email."""

    read_model: DispatchReadModel
    runner: ProjectionRunner
    store: EventStore
    box: SecretBox
    _cache: dict[tuple[str, str], tuple[float, asyncio.Future[ProviderLookup]]] = field(default_factory=dict)
    _local_pauses: dict[tuple[str, str], dict[Cause, tuple[int, Pause]]] = field(default_factory=dict)

    async def get(self, account_id: str, provider_id: str) -> ProviderLookup:
        key = (account_id, provider_id)
        cached = self._cache.get(key)
        if (
            cached is None
            or time.monotonic() - cached[0] > CACHE_SECONDS
            or (cached[1].done() and cached[1].exception() is not None)
        ):
            # One load for every concurrent caller: hundreds of sends ask at the same moment.
            cached = (time.monotonic(), asyncio.ensure_future(self._load(account_id, provider_id)))
            self._cache[key] = cached
        return self._shown(self._with_local_pause(key, await asyncio.shield(cached[1])))

    async def get_fresh(self, account_id: str, provider_id: str) -> ProviderLookup:
        """For a caller's request: wait until the read model holds the provider's last event."""
        last = await self.store.last_event("provider", provider_id)
        if last is not None and last.event.account_id == account_id:
            await self.runner.catch_up_to(last.stream_seq)
        key = (account_id, provider_id)
        cached = self._cache.get(key)
        if cached is not None and not _covers(cached[1], last.stream_seq if last is not None else 0):
            self._cache.pop(key, None)  # loaded before the provider's last event
        return await self.get(account_id, provider_id)

    def pause_locally(self, config: ProviderConfig, pause: Pause) -> None:
        """Pause at once in this process, until the read model holds the ProviderPaused that tells
        the others (`pause.paused_seq` once it is appended; 0 while it is on its way)."""
        self._local_pauses.setdefault((config.account_id, config.provider_id), {})[pause.cause] = (
            config.saved_seq,
            pause,
        )
        provider_paused(config.provider_id).set(1)

    def forget_local_pause(self, account_id: str, provider_id: str, cause: Cause) -> None:
        self._local_pauses.get((account_id, provider_id), {}).pop(cause, None)

    def _with_local_pause(self, key: tuple[str, str], lookup: ProviderLookup) -> ProviderLookup:
        local = self._local_pauses.get(key)
        if lookup.config is None or not local:
            return lookup
        for cause, (saved_seq, pause) in list(local.items()):
            if saved_seq != lookup.config.saved_seq or (pause.paused_seq and lookup.as_of >= pause.paused_seq):
                del local[cause]  # saved again, or the read model has the event now
            elif not any(p.cause is cause for p in lookup.pauses):
                lookup = ProviderLookup(lookup.config, (*lookup.pauses, pause), as_of=lookup.as_of)
        return lookup

    def _shown(self, lookup: ProviderLookup) -> ProviderLookup:
        if lookup.config is not None:
            provider_id = lookup.config.provider_id
            provider_paused(provider_id).set(1 if lookup.pauses else 0)
            causes = {pause.cause for pause in lookup.pauses}
            ses_account_sending(provider_id).set(0 if Cause.SES_ACCOUNT in causes else 1)
            ses_tenant_sending(provider_id).set(0 if Cause.SES_TENANT in causes else 1)
        return lookup

    async def _load(self, account_id: str, provider_id: str) -> ProviderLookup:
        as_of = self.runner.checkpoint
        row, pauses = await self.read_model.provider(account_id, provider_id)
        if row is None:
            return ProviderLookup(None)
        aad = provider_secret_aad(account_id, provider_id, "smtp_password")
        try:
            password = self.box.open(row["smtp_password_sealed"], aad) if row["smtp_password_sealed"] else ""
        except SecretBoxError as error:
            return ProviderLookup(None, problem=f"the provider's SMTP password cannot be opened: {error}")
        return ProviderLookup(_config(row, password), pauses, as_of=as_of)


def _covers(loading: asyncio.Future[ProviderLookup], last_seq: int) -> bool:
    """Whether a cached lookup was read from a read model that held the provider's last event: every
    change to a provider (a save, a pause, a deletion) is an event on its own subject, so a lookup
    that covers the last one is as fresh as a new read."""
    if not loading.done() or loading.cancelled() or loading.exception() is not None:
        return False
    return loading.result().as_of >= last_seq


def _config(row, password: str) -> ProviderConfig:
    return ProviderConfig(
        account_id=row["account_id"],
        provider_id=row["provider_id"],
        smtp_host=row["smtp_host"],
        smtp_port=row["smtp_port"],
        smtp_username=row["smtp_username"],
        smtp_password=password,
        from_address=row["from_address"],
        from_name=row["from_name"],
        max_send_rate=row["max_send_rate"] or 14.0,
        max_connections=row["max_connections"] or 10,
        max_message_bytes=row["max_message_bytes"] or DEFAULT_MAX_MESSAGE_BYTES,
        max_messages_per_connection=row["max_messages_per_connection"] or DEFAULT_MESSAGES_PER_CONNECTION,
        saved_seq=row["saved_seq"],
        ses_configuration_set=row["ses_configuration_set"],
        ses_tenant=row["ses_tenant"],
        fallback_provider_ids=row["fallback_provider_ids"],
    )


@dataclass
class ProviderHealth:
    """Consecutive auth or connection failures per provider version, in this process."""

    _failures: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def failed(self, config: ProviderConfig) -> int:
        key = (config.account_id, config.provider_id, config.saved_seq)
        self._failures[key] = self._failures.get(key, 0) + 1
        return self._failures[key]

    def succeeded(self, config: ProviderConfig) -> None:
        self._failures.pop((config.account_id, config.provider_id, config.saved_seq), None)
