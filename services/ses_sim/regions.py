"""The regions one simulator serves, each an SES of its own: account standing and limits, identities,
suppression list, configuration sets, tenants and SNS topic. Pure (times are passed in).

The SES API picks the region a request was signed for (SigV4's credential scope), so a boto3 client
made with `region_name="eu-west-1"` talks to that region through the same endpoint URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from services.ses_sim.account import AccountChange, SesAccount, identities_named
from services.ses_sim.configuration_sets import ConfigurationSet, ConfigurationSets
from services.ses_sim.errors import NotFound
from services.ses_sim.settings import RegionSettings, SimulatorSettings
from services.ses_sim.suppression_list import SUPPRESSION_REASONS, SuppressionList
from services.ses_sim.tenants import Tenants
from services.ses_sim.throttle import SendingLimits

# Authorization: AWS4-HMAC-SHA256 Credential=<key id>/<yyyymmdd>/<region>/<service>/aws4_request, ...
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/[a-z0-9-]+/aws4_request")


def region_from_authorization(authorization: str) -> str | None:
    """The region of a SigV4 `Authorization` header's credential scope; None if it has none."""
    match = _CREDENTIAL_SCOPE.search(authorization or "")
    return match.group(1) if match else None


class UnservedRegion(NotFound):
    """A request for a region this simulator does not serve."""


@dataclass
class SesRegion:
    name: str
    account: SesAccount
    limits: SendingLimits
    suppression_list: SuppressionList
    configuration_sets: ConfigurationSets
    tenants: Tenants
    topic_arn: str

    @classmethod
    def starting_with(
        cls, seed: RegionSettings, settings: SimulatorSettings, *, now: datetime, clock: float
    ) -> "SesRegion":
        account = SesAccount(
            identities_named(seed.verified_identities),
            settings.sandbox,
            seed.name,
            settings.aws_account,
            settings.max_send_rate,
            settings.max_24_hour_send,
        )
        region = cls(
            seed.name,
            account,
            SendingLimits.of(account.max_send_rate, account.daily_quota, clock),
            SuppressionList(),
            ConfigurationSets(seed.name, settings.aws_account),
            Tenants(seed.name, settings.aws_account),
            settings.topic_arn_of(seed.name),
        )
        region.suppression_list.seed(seed.suppressed, now)
        for name in seed.configuration_sets:
            region.configuration_sets.create(name, {}, now)
        for name in seed.tenants:
            region.add_tenant_for_everything(name, now)
        return region

    def change_account(self, change: AccountChange, clock: float) -> None:
        """Change the account's standing or limits; new limits hold for the very next message."""
        self.account.apply(change)
        self.limits.resize(self.account.max_send_rate, self.account.daily_quota, clock)

    def set_identities(self, names: list[str]) -> None:
        before = {self.account.identity_arn(identity) for identity in self.account.identities}
        self.account.identities = identities_named(names)
        for removed in before - {self.account.identity_arn(identity) for identity in self.account.identities}:
            self.tenants.forget_resource(removed)

    def delete_configuration_set(self, name: str) -> ConfigurationSet:
        deleted = self.configuration_sets.delete(name)
        self.tenants.forget_resource(self.configuration_sets.arn(deleted))
        return deleted

    def sent_last_24_hours(self, clock: float) -> int:
        return self.limits.quota.sent_last_24_hours(clock)

    # --- resources and tenants -------------------------------------------------------------------

    def resource_arns(self) -> list[str]:
        """Every identity and configuration set, by ARN."""
        return [self.account.identity_arn(identity) for identity in self.account.identities] + [
            self.configuration_sets.arn(s) for s in self.configuration_sets.all()
        ]

    def require_resource(self, arn: str) -> str:
        if self.account.identity_by_arn(arn) is None and self.configuration_sets.by_arn(arn) is None:
            raise NotFound(f"Resource {arn} does not exist.")
        return arn

    def associate(self, tenant_name: str, resource_arn: str, now: datetime) -> None:
        self.tenants.get(tenant_name)
        self.tenants.associate(tenant_name, self.require_resource(resource_arn), now)

    def add_tenant_for_everything(self, name: str, now: datetime) -> None:
        """A tenant associated with every identity and configuration set there is (how seeded and
        control-made tenants start, so that they can send at once)."""
        self.tenants.create(name, now)
        self.tenants.associate_all(name, self.resource_arns(), now)

    # --- suppression -----------------------------------------------------------------------------

    def suppression_for(
        self, configuration_set: str | None, tenant: str | None
    ) -> tuple[SuppressionList, tuple[str, ...]]:
        """The list a message's recipients are checked against, and the reasons it honours: a tenant's
        own list when its scope is TENANT, else the account's, narrowed by the configuration set's
        suppression options when it has any."""
        found_tenant = self.tenants.find(tenant) if tenant else None
        if found_tenant is not None and found_tenant.suppression_scope == "TENANT":
            return found_tenant.suppression_list, found_tenant.suppressed_reasons
        found_set = self.configuration_sets.find(configuration_set) if configuration_set else None
        reasons = (
            found_set.suppressed_reasons
            if found_set and found_set.suppressed_reasons is not None
            else SUPPRESSION_REASONS
        )
        return self.suppression_list, reasons

    def is_suppressed(self, address: str, configuration_set: str | None, tenant: str | None) -> bool:
        suppression_list, reasons = self.suppression_for(configuration_set, tenant)
        return suppression_list.suppressing(address, reasons) is not None

    def tenant_suppression_list(self, tenant: str | None) -> SuppressionList:
        """The list the suppression API's TenantName names (the account's without one)."""
        return self.tenants.get(tenant).suppression_list if tenant else self.suppression_list


class Regions:
    def __init__(self, regions: list[SesRegion]) -> None:
        self._regions = {region.name: region for region in regions}
        self.default = regions[0]

    @classmethod
    def from_settings(cls, settings: SimulatorSettings, *, now: datetime, clock: float) -> "Regions":
        return cls([SesRegion.starting_with(seed, settings, now=now, clock=clock) for seed in settings.regions()])

    @property
    def names(self) -> list[str]:
        return list(self._regions)

    def get(self, name: str | None) -> SesRegion:
        """The region called `name`; the default one for None or an empty name."""
        if not name:
            return self.default
        region = self._regions.get(name)
        if region is None:
            raise UnservedRegion(
                f"The simulator does not serve region {name}; it serves {', '.join(self._regions)} "
                "(POSTROOM_SIM_REGIONS)."
            )
        return region

    def signed_for(self, authorization: str) -> SesRegion:
        return self.get(region_from_authorization(authorization))

    def __iter__(self) -> Iterator[SesRegion]:
        return iter(self._regions.values())
