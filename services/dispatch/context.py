"""What one dispatch process's API and workers share: the collaborators, and what is being sent now."""

from __future__ import annotations

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


@dataclass
class LiveAttempt:
    attempts: int = 0
    last_reply: str = ""
    hint: str = ""
    waiting_reason: str = ""  # held back without an attempt: a pause, SES's daily quota


@dataclass
class LiveAttempts:
    """What this process is sending right now: GetDispatch's SENDING state, attempts and last reply."""

    by_dispatch: dict[str, LiveAttempt] = field(default_factory=dict)

    def get(self, dispatch_id: str) -> LiveAttempt | None:
        return self.by_dispatch.get(dispatch_id)


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
