"""The simulated SES account of one region: its verified identities, its standing with SES
(enforcement status, sending switch, sandbox) and its sending limits. Pure.

A test or a person changes the standing while the simulator runs (`AccountChange`), as SES's own
reviews and pauses change a real account.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from services.ses_sim.errors import InvalidValue

# GetAccount's EnforcementStatus: SES reviews an account (PROBATION) before it pauses it (SHUTDOWN).
ENFORCEMENT_STATUSES = ("HEALTHY", "PROBATION", "SHUTDOWN")


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass(frozen=True)
class Identity:
    name: str

    @property
    def is_domain(self) -> bool:
        return "@" not in self.name

    @property
    def v2_type(self) -> str:
        return "DOMAIN" if self.is_domain else "EMAIL_ADDRESS"

    @property
    def v1_type(self) -> str:
        return "Domain" if self.is_domain else "EmailAddress"


def identities_named(names: Iterable[str]) -> tuple[Identity, ...]:
    unique = dict.fromkeys(name.strip().lower() for name in names if name.strip())
    return tuple(Identity(name) for name in unique)


@dataclass(frozen=True)
class AccountChange:
    """What to change; a field left None keeps its value."""

    enforcement_status: str | None = None
    sending_enabled: bool | None = None
    production_access_enabled: bool | None = None
    max_send_rate: float | None = None
    max_24_hour_send: int | None = None

    def problems(self) -> list[InvalidValue]:
        found = []
        if self.enforcement_status is not None and self.enforcement_status not in ENFORCEMENT_STATUSES:
            found.append(
                InvalidValue(
                    "enforcement_status",
                    f"enforcement_status must be one of "
                    f"{', '.join(ENFORCEMENT_STATUSES)}, not {self.enforcement_status!r}",
                )
            )
        for name in ("sending_enabled", "production_access_enabled"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), bool):
                found.append(InvalidValue(name, f"{name} must be true or false"))
        rate = self.max_send_rate
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0
        ):
            found.append(InvalidValue("max_send_rate", "max_send_rate must be a number of messages per second above 0"))
        quota = self.max_24_hour_send
        if quota is not None and (isinstance(quota, bool) or not isinstance(quota, int) or quota < 0):
            found.append(InvalidValue("max_24_hour_send", "max_24_hour_send must be a whole number, 0 or more"))
        return found


@dataclass
class SesAccount:
    identities: tuple[Identity, ...]
    sandbox: bool
    region: str
    account_id: str
    max_send_rate: float
    daily_quota: int
    enforcement_status: str = "HEALTHY"
    sending_enabled: bool = True

    @property
    def sending_paused(self) -> bool:
        """SES refuses every message of an account it has shut down or whose sending is switched off."""
        return self.enforcement_status == "SHUTDOWN" or not self.sending_enabled

    def apply(self, change: AccountChange) -> None:
        """Apply a change, all of it or (raising the first problem) none of it."""
        if problems := change.problems():
            raise problems[0]
        if change.enforcement_status is not None:
            self.enforcement_status = change.enforcement_status
        if change.sending_enabled is not None:
            self.sending_enabled = change.sending_enabled
        if change.production_access_enabled is not None:
            self.sandbox = not change.production_access_enabled
        if change.max_send_rate is not None:
            self.max_send_rate = float(change.max_send_rate)
        if change.max_24_hour_send is not None:
            self.daily_quota = change.max_24_hour_send

    def standing(self) -> dict:
        """The account as the control endpoint shows it."""
        return {
            "region": self.region,
            "enforcement_status": self.enforcement_status,
            "sending_enabled": self.sending_enabled,
            "production_access_enabled": not self.sandbox,
            "max_send_rate": self.max_send_rate,
            "max_24_hour_send": self.daily_quota,
            "verified_identities": [identity.name for identity in self.identities],
        }

    def identity(self, name: str) -> Identity | None:
        """The verified identity called exactly `name` (an address or a domain), if any."""
        wanted = name.strip().lower()
        return next((identity for identity in self.identities if identity.name == wanted), None)

    def verifying_identity(self, address: str) -> Identity | None:
        """The identity that lets `address` send: itself, its domain, or a parent domain
        (SES lets subdomains inherit a verified domain's status)."""
        if (own := self.identity(address)) is not None:
            return own
        labels = _domain_of(address).split(".")
        for start in range(len(labels) - 1):
            if (domain := self.identity(".".join(labels[start:]))) is not None and domain.is_domain:
                return domain
        return None

    def is_verified(self, address: str) -> bool:
        return self.verifying_identity(address) is not None

    def identity_arn(self, identity: Identity) -> str:
        return f"arn:aws:ses:{self.region}:{self.account_id}:identity/{identity.name}"

    def identity_by_arn(self, arn: str) -> Identity | None:
        prefix = f"arn:aws:ses:{self.region}:{self.account_id}:identity/"
        return self.identity(arn.removeprefix(prefix)) if arn.startswith(prefix) else None
