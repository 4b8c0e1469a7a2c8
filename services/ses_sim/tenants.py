"""SES tenants of one region: containers that keep one customer's sending reputation apart from
another's. Pure.

A tenant is a reputation entity (type RESOURCE, referenced by the tenant's ARN) with two statuses:
the one SES manages (SES pauses a tenant whose reputation calls for it; a test sets it through the
control endpoint) and the one its owner manages (`UpdateReputationEntityCustomerManagedStatus`).
Either one DISABLED stops the tenant's mail. A message names its tenant with `X-SES-TENANT`, and
may only use identities and configuration sets associated with that tenant.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.ses_sim.errors import AlreadyExists, InvalidValue, NotFound
from services.ses_sim.paging import one_page, page_size_of
from services.ses_sim.suppression_list import SUPPRESSION_REASONS, SuppressionList

SENDING_STATUSES = ("ENABLED", "REINSTATED", "DISABLED")
SUPPRESSION_SCOPES = ("ACCOUNT", "TENANT")
REPUTATION_POLICIES = ("none", "standard", "strict")  # SES-managed; a new tenant has "none"
RESOURCE_TYPES = {"identity": "EMAIL_IDENTITY", "configuration-set": "CONFIGURATION_SET", "template": "EMAIL_TEMPLATE"}
CUSTOMER_UPDATE_CAUSE = "Status manually updated."  # what SES records when the owner sets a status
MAX_PAGE_SIZE = 100
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)


def require_tenant_name(name: object, field_name: str = "TenantName") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidValue(
            field_name, f"{field_name} must be 1 to 64 letters, digits, hyphens or underscores, not {name!r}."
        )
    return name


def require_sending_status(status: object, field_name: str = "SendingStatus") -> str:
    if status not in SENDING_STATUSES:
        raise InvalidValue(field_name, f"{field_name} must be one of {', '.join(SENDING_STATUSES)}, not {status!r}.")
    return status


def aggregate_status(customer: str | None, ses: str) -> str:
    """Disabled by either side is disabled; otherwise reinstated by either side is reinstated."""
    statuses = (customer or "ENABLED", ses)
    if "DISABLED" in statuses:
        return "DISABLED"
    return "REINSTATED" if "REINSTATED" in statuses else "ENABLED"


@dataclass
class StatusRecord:
    status: str
    updated_at: datetime
    cause: str | None = None


@dataclass
class Tenant:
    name: str
    tenant_id: str
    arn: str
    created_at: datetime
    ses_status: StatusRecord
    tags: list[dict[str, str]] = field(default_factory=list)
    customer_status: StatusRecord | None = None
    policy: str = "none"
    suppression_scope: str = "ACCOUNT"
    suppressed_reasons: tuple[str, ...] = SUPPRESSION_REASONS
    resources: dict[str, datetime] = field(default_factory=dict)  # resource ARN -> associated at
    suppression_list: SuppressionList = field(default_factory=SuppressionList)

    @property
    def sending_status(self) -> str:
        return aggregate_status(self.customer_status.status if self.customer_status else None, self.ses_status.status)

    @property
    def may_send(self) -> bool:
        return self.sending_status != "DISABLED"

    def suppression_attributes(self) -> dict[str, Any]:
        return {"SuppressedReasons": list(self.suppressed_reasons), "SuppressionScope": self.suppression_scope}


def _suppression_settings(attributes: dict[str, Any] | None) -> tuple[str, tuple[str, ...]]:
    attributes = attributes or {}
    scope = attributes.get("SuppressionScope", "ACCOUNT")
    if scope not in SUPPRESSION_SCOPES:
        raise InvalidValue("SuppressionScope", f"SuppressionScope must be ACCOUNT or TENANT, not {scope!r}.")
    reasons = attributes.get("SuppressedReasons", list(SUPPRESSION_REASONS))
    if not isinstance(reasons, list) or any(reason not in SUPPRESSION_REASONS for reason in reasons):
        raise InvalidValue("SuppressedReasons", "SuppressedReasons may hold BOUNCE and COMPLAINT.")
    return scope, tuple(dict.fromkeys(reasons))


class Tenants:
    def __init__(self, region: str, account_id: str) -> None:
        self.region = region
        self.account_id = account_id
        self._tenants: dict[str, Tenant] = {}

    # --- the tenants themselves ----------------------------------------------------------------

    def create(
        self, name: object, now: datetime, *, tags: list | None = None, suppression: dict[str, Any] | None = None
    ) -> Tenant:
        name = require_tenant_name(name)
        if name in self._tenants:
            raise AlreadyExists(f"Tenant {name} already exists.")
        if tags is not None and not isinstance(tags, list):
            raise InvalidValue("Tags", "Tags must be a list of {Key, Value}.")
        scope, reasons = _suppression_settings(suppression)
        tenant_id = "tn-" + secrets.token_hex(15)[:29]
        tenant = Tenant(
            name,
            tenant_id,
            f"arn:aws:ses:{self.region}:{self.account_id}:tenant/{name}/{tenant_id}",
            now,
            StatusRecord("ENABLED", now),
            tags=list(tags or []),
            suppression_scope=scope,
            suppressed_reasons=reasons,
        )
        self._tenants[name] = tenant
        return tenant

    def get(self, name: str) -> Tenant:
        tenant = self._tenants.get(name)
        if tenant is None:
            raise NotFound(f"Tenant {name} does not exist.")
        return tenant

    def find(self, name: str) -> Tenant | None:
        return self._tenants.get(name)

    def delete(self, name: str) -> Tenant:
        return self._tenants.pop(self.get(name).name)

    def page(
        self, filters: dict[str, str], page_size: int | None, next_token: str | None
    ) -> tuple[list[Tenant], str | None]:
        unknown = sorted(set(filters) - {"TENANT_NAME_CONTAINS", "SENDING_STATUS"})
        if unknown:
            raise InvalidValue("Filter", f"Unknown ListTenants filter {unknown[0]}.")
        matching = [
            t
            for t in self._tenants.values()
            if filters.get("TENANT_NAME_CONTAINS", "") in t.name
            and filters.get("SENDING_STATUS", t.sending_status) == t.sending_status
        ]
        return one_page(matching, lambda t: t.name, page_size_of(page_size, MAX_PAGE_SIZE, MAX_PAGE_SIZE), next_token)

    def all(self) -> list[Tenant]:
        return sorted(self._tenants.values(), key=lambda t: t.name)

    def set_suppression(self, name: str, attributes: dict[str, Any]) -> Tenant:
        tenant = self.get(name)
        tenant.suppression_scope, tenant.suppressed_reasons = _suppression_settings(attributes)
        return tenant

    # --- reputation entities (a tenant is one, referenced by its ARN) ----------------------------

    def by_arn(self, arn: str) -> Tenant:
        tenant = next((t for t in self._tenants.values() if t.arn == arn), None)
        if tenant is None:
            raise NotFound(f"Reputation entity {arn} does not exist.")
        return tenant

    def set_ses_status(self, name: str, status: str, now: datetime, cause: str | None = None) -> Tenant:
        """What SES itself decides (a reputation pause, a reinstatement): the test's lever."""
        tenant = self.get(name)
        tenant.ses_status = StatusRecord(require_sending_status(status, "sending_status"), now, cause)
        return tenant

    def set_customer_status(self, arn: str, status: object, now: datetime) -> Tenant:
        tenant = self.by_arn(arn)
        tenant.customer_status = StatusRecord(require_sending_status(status), now, CUSTOMER_UPDATE_CAUSE)
        return tenant

    def policy_arn(self, policy: str) -> str:
        return f"arn:aws:ses:{self.region}:aws:reputation-policy/{policy}"

    def set_policy(self, arn: str, policy_arn: object) -> Tenant:
        tenant = self.by_arn(arn)
        policy = next((p for p in REPUTATION_POLICIES if self.policy_arn(p) == policy_arn), None)
        if policy is None:
            raise InvalidValue(
                "ReputationEntityPolicy",
                f"ReputationEntityPolicy must be one of {', '.join(self.policy_arn(p) for p in REPUTATION_POLICIES)}.",
            )
        tenant.policy = policy
        return tenant

    def entity_page(
        self, filters: dict[str, str], page_size: int | None, next_token: str | None
    ) -> tuple[list[Tenant], str | None]:
        known = {"ENTITY_TYPE", "REPUTATION_IMPACT", "SENDING_STATUS", "ENTITY_REFERENCE_PREFIX"}
        if unknown := sorted(set(filters) - known):
            raise InvalidValue("Filter", f"Unknown ListReputationEntities filter {unknown[0]}.")
        matching = [
            t
            for t in self._tenants.values()
            if filters.get("ENTITY_TYPE", "RESOURCE") == "RESOURCE"
            and filters.get("REPUTATION_IMPACT", "NONE") == "NONE"
            and filters.get("SENDING_STATUS", t.sending_status) == t.sending_status
            and t.arn.startswith(filters.get("ENTITY_REFERENCE_PREFIX", ""))
        ]
        return one_page(matching, lambda t: t.arn, page_size_of(page_size, MAX_PAGE_SIZE, MAX_PAGE_SIZE), next_token)

    # --- resources associated with a tenant ------------------------------------------------------

    def associate(self, name: str, resource_arn: str, now: datetime) -> None:
        tenant = self.get(name)
        if resource_arn in tenant.resources:
            raise AlreadyExists(f"Resource {resource_arn} is already associated with tenant {name}.")
        tenant.resources[resource_arn] = now

    def associate_all(self, name: str, resource_arns: Iterable[str], now: datetime) -> None:
        tenant = self.get(name)
        for arn in resource_arns:
            tenant.resources.setdefault(arn, now)

    def forget_resource(self, resource_arn: str) -> None:
        """A deleted resource is associated with no tenant any more."""
        for tenant in self._tenants.values():
            tenant.resources.pop(resource_arn, None)

    def dissociate(self, name: str, resource_arn: str) -> None:
        tenant = self.get(name)
        if tenant.resources.pop(resource_arn, None) is None:
            raise NotFound(f"Resource {resource_arn} is not associated with tenant {name}.")

    def resource_page(
        self, name: str, filters: dict[str, str], page_size: int | None, next_token: str | None
    ) -> tuple[list[str], str | None]:
        if unknown := sorted(set(filters) - {"RESOURCE_TYPE"}):
            raise InvalidValue("Filter", f"Unknown ListTenantResources filter {unknown[0]}.")
        wanted = filters.get("RESOURCE_TYPE")
        arns = [arn for arn in self.get(name).resources if wanted is None or resource_type_of(arn) == wanted]
        return one_page(arns, lambda arn: arn, page_size_of(page_size, MAX_PAGE_SIZE, MAX_PAGE_SIZE), next_token)

    def tenants_of_page(
        self, resource_arn: str, page_size: int | None, next_token: str | None
    ) -> tuple[list[Tenant], str | None]:
        holding = [t for t in self._tenants.values() if resource_arn in t.resources]
        return one_page(holding, lambda t: t.name, page_size_of(page_size, MAX_PAGE_SIZE, MAX_PAGE_SIZE), next_token)


def resource_type_of(arn: str) -> str | None:
    """EMAIL_IDENTITY, CONFIGURATION_SET or EMAIL_TEMPLATE for an SES resource ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "ses"]:
        return None
    return RESOURCE_TYPES.get(parts[5].partition("/")[0])
