"""A provider's limits as dispatch applies them: its own max_send_rate, capped by what SES says.

Config reads SES's GetAccount (with the provider's SES API keys) at save and every few minutes,
and records a SesAccountObserved when something changed; the newest one is the aggregate's last
event, read here straight from the log and kept for a little while.
"""

from __future__ import annotations

import logging
import time

from services.core.event_store import EventStore
from services.core.events import SES_ACCOUNT_AGGREGATE
from services.core.generated.postroom.v1 import events_pb2
from services.dispatch.domain import ProviderConfig
from services.dispatch.rate_limit import ProviderLimits

log = logging.getLogger(__name__)

CACHE_SECONDS = 30.0


class SesLimits:
    def __init__(self, store: EventStore, refresh_seconds: float = CACHE_SECONDS) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._observed: dict[str, tuple[float, events_pb2.SesAccountObserved | None]] = {}

    async def limits_for(self, config: ProviderConfig) -> ProviderLimits:
        observed = await self.observed(config.account_id, config.provider_id)
        rate = config.max_send_rate
        quota = 0
        if observed is not None:
            if observed.max_send_rate > 0:
                rate = min(rate, observed.max_send_rate)
            quota = int(observed.max_24_hour_send) if observed.max_24_hour_send > 0 else 0
        return ProviderLimits(rate, quota)

    async def observed(self, account_id: str, provider_id: str) -> events_pb2.SesAccountObserved | None:
        cached = self._observed.get(provider_id)
        if cached is not None and time.monotonic() - cached[0] < self.refresh_seconds:
            return cached[1]
        try:
            last = await self.store.last_event(SES_ACCOUNT_AGGREGATE, provider_id)
        except Exception as error:  # the log is away: keep what was known
            log.warning("SES account state not read", extra={"provider_id": provider_id, "error": repr(error)})
            return cached[1] if cached else None
        observed = (
            last.event.ses_account_observed
            if last is not None and last.event.account_id == account_id and last.event.HasField("ses_account_observed")
            else None
        )
        self._observed[provider_id] = (time.monotonic(), observed)
        return observed
