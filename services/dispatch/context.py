"""What one dispatch process's API and workers share: the collaborators, and what is being sent now."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from services.core.event_store import EventStore
from services.core.projection import ProjectionRunner
from services.core.settings import Settings
from services.dispatch.email_content import EmailContent
from services.dispatch.projection import DispatchReadModel
from services.dispatch.providers import ProviderDirectory
from services.dispatch.ses_limits import SesLimits
from services.dispatch.shared_rate import SharedRates
from services.dispatch.unsubscribe import UnsubscribeLinks


HELD_GRACE_SECONDS = 5.0  # past its requeue delay, a reason lasts this long for a redelivery to take over


@dataclass
class LiveAttempt:
    attempts: int = 0
    last_reply: str = ""
    hint: str = ""


@dataclass
class LiveAttempts:
    """What this process is sending right now (GetDispatch's SENDING state, attempts and last
    reply), and why the mail it put back waits (a pause, SES's daily quota, SES's 554 "Sending
    paused"), until its outcome. A held reason lapses a little after the requeue's delay, so mail
    another replica takes next leaves nothing behind here."""

    by_dispatch: dict[str, LiveAttempt] = field(default_factory=dict)
    held: dict[str, tuple[str, float]] = field(default_factory=dict)  # dispatch_id -> (reason, until)
    clock: Callable[[], float] = time.monotonic
    _prune_above: int = 1024

    def get(self, dispatch_id: str) -> LiveAttempt | None:
        return self.by_dispatch.get(dispatch_id)

    def hold(self, dispatch_id: str, reason: str, delay: float) -> None:
        self.held[dispatch_id] = (reason, self.clock() + delay + HELD_GRACE_SECONDS)
        if len(self.held) > self._prune_above:
            now = self.clock()
            self.held = {key: entry for key, entry in self.held.items() if entry[1] > now}
            self._prune_above = max(1024, 2 * len(self.held))

    def release(self, dispatch_id: str) -> None:
        self.held.pop(dispatch_id, None)

    def waiting_reason(self, dispatch_id: str) -> str:
        reason, until = self.held.get(dispatch_id, ("", 0.0))
        return reason if until > self.clock() else ""


@dataclass(frozen=True)
class DispatchContext:
    settings: Settings
    store: EventStore
    runner: ProjectionRunner
    read_model: DispatchReadModel
    providers: ProviderDirectory
    unsubscribe: UnsubscribeLinks
    live: LiveAttempts
    rates: SharedRates
    ses_limits: SesLimits
    content: EmailContent
