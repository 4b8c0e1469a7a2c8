"""The guard at work: every few seconds, each provider's trailing rates against the guard lines;
a crossing pauses the provider (ProviderPaused, cause "guard") at once in this process and, through
the log, in every other.

Replicas all watch: a pause is appended with the expected sequence of the provider's health
subject, so of two replicas that see the same crossing, one records it.
"""

from __future__ import annotations

import logging
import time

from services.core.periodic import every
from services.dispatch import events, guard
from services.dispatch.context import DispatchContext
from services.dispatch.guard import GuardLines, GuardPause, Scope
from services.dispatch.metrics import guard_bounce_rate, guard_complaint_rate, guard_line
from services.dispatch.pauses import Cause, Pause
from services.dispatch.shared_rate import rate_key

log = logging.getLogger(__name__)

IDLE_RECHECK_SECONDS = 60.0


class GuardWatch:
    def __init__(self, context: DispatchContext) -> None:
        self.context = context
        self.lines = GuardLines.for_settings(context.settings)
        self._checked_at = (-1, 0.0)  # the read model's checkpoint, and the time, of the last round

    async def run(self) -> None:
        await every(self.context.settings.guard_check_seconds, self.check_all, "guard check")

    async def check_all(self) -> None:
        """Every provider, when the read model has moved since the last round, and once a minute
        anyway: old sends leaving the window by age change the rates too."""
        checkpoint, now = self.context.runner.checkpoint, time.monotonic()
        if checkpoint == self._checked_at[0] and now - self._checked_at[1] < IDLE_RECHECK_SECONDS:
            return
        for account_id, provider_id in await self.context.read_model.provider_keys():
            await self.check(account_id, provider_id)
        self._checked_at = (checkpoint, now)

    async def check(self, account_id: str, provider_id: str) -> GuardPause | None:
        """Pause the provider if its rates call for a pause it does not have yet; the pause, if any."""
        records = await self.context.read_model.guard_records(account_id, provider_id, self.lines.window_sends)
        rates = guard.trailing_rates(records, time.time(), self.lines)
        guard_bounce_rate(provider_id).set(rates.bounce_rate)
        guard_complaint_rate(provider_id).set(rates.complaint_rate)
        guard_line(rate_key(account_id, provider_id), "bounce").set(self.lines.bounce_rate)
        guard_line(rate_key(account_id, provider_id), "complaint").set(self.lines.complaint_rate)
        wanted = guard.verdict(rates, self.lines)
        if wanted is None:
            return None
        lookup = await self.context.providers.get(account_id, provider_id)
        if lookup.config is None or _already_paused(lookup.pauses, wanted.scope):
            return wanted
        pause = Pause(Cause.GUARD, wanted.scope, wanted.reason)
        self.context.providers.pause_locally(lookup.config, pause)
        appended = await self._record(account_id, provider_id, wanted)
        if appended:
            self.context.providers.pause_locally(
                lookup.config, Pause(Cause.GUARD, wanted.scope, wanted.reason, appended)
            )
        else:  # the subject moved (another replica, a resume): next round decides
            self.context.providers.forget_local_pause(account_id, provider_id, Cause.GUARD)
        return wanted

    async def _record(self, account_id: str, provider_id: str, wanted: GuardPause) -> int:
        """The ProviderPaused's sequence, or 0 when another replica recorded a change first."""
        last = await self.context.store.last_event(events.PROVIDER_HEALTH, provider_id)
        event = events.paused_event(
            account_id, provider_id, wanted.reason, cause=Cause.GUARD, scope=wanted.scope, rates=wanted.rates
        )
        appended = await self.context.store.append_after(event, last, patience=None)
        if appended is None:
            return 0
        log.warning(
            "provider paused by the guard",
            extra={
                "provider_id": provider_id,
                "scope": wanted.scope.value,
                "bounce_rate": wanted.rates.bounce_rate,
                "complaint_rate": wanted.rates.complaint_rate,
                "sends": wanted.rates.sends,
            },
        )
        return appended.stream_seq


def _already_paused(pauses: tuple[Pause, ...], scope: Scope) -> bool:
    """A guard pause as wide as the one wanted is in force (an ALL pause covers the other)."""
    return any(p.cause is Cause.GUARD and (p.scope is Scope.ALL or p.scope is scope) for p in pauses)
