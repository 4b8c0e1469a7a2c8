"""Why a provider takes no mail for now, and which of its mail that holds (pure).

Four causes, each lifted its own way:
- `failures`: logins or connections kept failing (ProviderPaused); saving the provider again, or
  ResumeProvider, lifts it.
- `guard`: the trailing bounce or complaint rate crossed a guard line (ProviderPaused); only a
  person lifts it, with ResumeProvider, since saving changes nothing about the list it was sent to.
- `ses_account`: SES's own GetAccount says SHUTDOWN or sending disabled (SesAccountObserved); it
  lasts exactly as long as SES says so.
- `ses_tenant`: SES's GetTenant says the provider's tenant is DISABLED (SesTenantObserved); it lasts
  as long as SES says so, and only while the provider still names that tenant.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from services.core.ses_standing import account_sending_paused, tenant_sending_paused
from services.dispatch.guard import Scope


class Cause(str, enum.Enum):
    FAILURES = "failures"
    GUARD = "guard"
    SES_ACCOUNT = "ses_account"
    SES_TENANT = "ses_tenant"

    @property
    def lifted_by_resume(self) -> bool:
        """SES's own pauses are SES's to lift: resuming would only send into its 554 refusals."""
        return self not in (Cause.SES_ACCOUNT, Cause.SES_TENANT)


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


def is_active(cause: Cause, paused_seq: int, saved_seq: int, *, paused_tenant: str = "", tenant: str = "") -> bool:
    """A failures pause is lifted by a later save of the provider, and a tenant's pause by a save
    that names another tenant (`tenant` is the provider's, `paused_tenant` the one SES disabled);
    the others are not lifted by a save."""
    if cause is Cause.FAILURES:
        return paused_seq > saved_seq
    if cause is Cause.SES_TENANT:
        return paused_tenant == tenant
    return True


def ses_account_pause(enforcement_status: str, sending_enabled: bool) -> str | None:
    """The reason SES's own account state stops the provider, or None when SES sends its mail."""
    if not account_sending_paused(enforcement_status, sending_enabled):
        return None
    if enforcement_status == "SHUTDOWN":
        return (
            "SES has shut down sending for this provider's account (GetAccount EnforcementStatus SHUTDOWN): "
            "its mail waits. Answer the case in the AWS console's Virtual Deliverability Manager / "
            "Account dashboard; Postroom resumes by itself when SES reports the account HEALTHY again."
        )
    return (
        "SES reports sending disabled for this provider's account (GetAccount SendingEnabled false): its "
        "mail waits. Re-enable sending in the SES account dashboard; Postroom resumes by itself when "
        "SES reports it enabled."
    )


def ses_tenant_pause(tenant: str, sending_status: str) -> str | None:
    """The reason SES's standing of the provider's tenant stops the provider, or None when it sends."""
    if not tenant_sending_paused(sending_status):
        return None
    return (
        f"SES has disabled sending for this provider's tenant {tenant!r} (GetTenant SendingStatus DISABLED): "
        "its mail waits. Read the tenant's reputation findings in the SES console (Tenants); Postroom "
        "resumes by itself when SES reports the tenant ENABLED or REINSTATED."
    )
