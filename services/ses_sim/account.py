"""The simulated SES account: which identities are verified, sandbox or production, the limits. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from services.ses_sim.settings import SimulatorSettings


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


@dataclass(frozen=True)
class SesAccount:
    identities: tuple[Identity, ...]
    sandbox: bool
    region: str
    account_id: str
    max_send_rate: float
    daily_quota: int

    @classmethod
    def from_settings(cls, settings: SimulatorSettings) -> "SesAccount":
        names = dict.fromkeys(name.strip().lower() for name in settings.verified_identities if name.strip())
        return cls(tuple(Identity(name) for name in names), settings.sandbox, settings.region,
                   settings.aws_account, settings.max_send_rate, settings.max_24_hour_send)

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
