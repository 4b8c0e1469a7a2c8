"""Why a provider takes no mail for now, and which of its mail that holds (pure).

Three causes, each lifted its own way:
- `failures`: logins or connections kept failing (ProviderPaused); saving the provider again, or
  ResumeProvider, lifts it.
- `guard`: the trailing bounce or complaint rate crossed a guard line (ProviderPaused); only a
  person lifts it, with ResumeProvider, since saving changes nothing about the list it was sent to.
- `ses_account`: SES's own GetAccount says SHUTDOWN or sending disabled (SesAccountObserved); it
  lasts exactly as long as SES says so.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from services.dispatch.guard import Scope


class Cause(str, enum.Enum):
    FAILURES = "failures"
    GUARD = "guard"
    SES_ACCOUNT = "ses_account"

    @property
    def lifted_by_resume(self) -> bool:
        return self is not Cause.SES_ACCOUNT


@dataclass(frozen=True)
class Pause:
    cause: Cause
    scope: Scope
    reason: str
    paused_seq: int = 0


def holding(pauses: Iterable[Pause], transactional: bool) -> Pause | None:
    """The pause that holds this email, if any (the widest first: an ALL pause says more)."""
    held = [pause for pause in pauses if pause.scope.holds(transactional)]
    return min(held, key=lambda pause: pause.scope is not Scope.ALL) if held else None


def is_active(cause: Cause, paused_seq: int, saved_seq: int) -> bool:
    """A failures pause is lifted by a later save of the provider; the others are not."""
    return paused_seq > saved_seq if cause is Cause.FAILURES else True


def ses_account_pause(enforcement_status: str, sending_enabled: bool) -> str | None:
    """The reason SES's own account state stops the provider, or None when SES sends its mail."""
    if enforcement_status == "SHUTDOWN":
        return (
            "SES has shut down sending for this provider's account (GetAccount EnforcementStatus SHUTDOWN): "
            "its mail waits. Answer the case in the AWS console's Virtual Deliverability Manager / "
            "Account dashboard; Postroom resumes by itself when SES reports the account HEALTHY again."
        )
    if not sending_enabled:
        return (
            "SES reports sending disabled for this provider's account (GetAccount SendingEnabled false): its "
            "mail waits. Re-enable sending in the SES account dashboard; Postroom resumes by itself when "
            "SES reports it enabled."
        )
    return None
