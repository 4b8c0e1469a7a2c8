"""SESv2's tenant calls: tenants, the resources associated with them, their suppression attributes,
and their reputation (a tenant is a reputation entity of type RESOURCE, referenced by its ARN)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.ses_sim.errors import InvalidValue
from services.ses_sim.json_bodies import json_object
from services.ses_sim.regions import Regions, SesRegion
from services.ses_sim.sesv2_protocol import (
    epoch_seconds,
    filters_of,
    ok,
    optional_int,
    optional_str,
    required_str,
    sesv2_operation,
    utc_now,
)
from services.ses_sim.tenants import StatusRecord, Tenant, Tenants, resource_type_of

_ENTITIES = "/v2/email/reputation/entities"
_ENTITY = _ENTITIES + "/{type}/{reference:.+}"


def _info(tenant: Tenant) -> dict[str, Any]:
    """ListTenants' TenantInfo."""
    return {
        "TenantName": tenant.name,
        "TenantId": tenant.tenant_id,
        "TenantArn": tenant.arn,
        "CreatedTimestamp": epoch_seconds(tenant.created_at),
        "SendingStatus": tenant.sending_status,
    }


def _described(tenant: Tenant) -> dict[str, Any]:
    """CreateTenant's answer and GetTenant's Tenant."""
    return {**_info(tenant), "Tags": tenant.tags, "SuppressionAttributes": tenant.suppression_attributes()}


def _status(record: StatusRecord) -> dict[str, Any]:
    return {
        "Status": record.status,
        "LastUpdatedTimestamp": epoch_seconds(record.updated_at),
        **({"Cause": record.cause} if record.cause else {}),
    }


def _entity(tenant: Tenant, tenants: Tenants) -> dict[str, Any]:
    # As SES answers for an entity with no reputation findings; CustomerManagedStatus only once set.
    return {
        "ReputationEntityReference": tenant.arn,
        "ReputationEntityType": "RESOURCE",
        "ReputationManagementPolicy": tenants.policy_arn(tenant.policy),
        "AwsSesManagedStatus": _status(tenant.ses_status),
        **({"CustomerManagedStatus": _status(tenant.customer_status)} if tenant.customer_status else {}),
        "SendingStatusAggregate": tenant.sending_status,
        "ReputationImpact": "NONE",
    }


def _paged(key: str, items: list, token: str | None) -> web.Response:
    return ok({key: items, **({"NextToken": token} if token else {})})


def _entity_reference(request: web.Request) -> str:
    if request.match_info["type"] != "RESOURCE":
        raise InvalidValue("ReputationEntityType", "ReputationEntityType must be RESOURCE.")
    return request.match_info["reference"]


class TenantApi:
    def __init__(self, regions: Regions) -> None:
        self.regions = regions

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v2/email/tenants", self.create_tenant),
            web.post("/v2/email/tenants/get", self.get_tenant),
            web.post("/v2/email/tenants/list", self.list_tenants),
            web.post("/v2/email/tenants/delete", self.delete_tenant),
            web.post("/v2/email/tenants/resources", self.create_tenant_resource_association),
            web.post("/v2/email/tenants/resources/delete", self.delete_tenant_resource_association),
            web.post("/v2/email/tenants/resources/list", self.list_tenant_resources),
            web.post("/v2/email/resources/tenants/list", self.list_resource_tenants),
            web.post("/v2/email/tenant/suppression", self.put_tenant_suppression_attributes),
            web.post(_ENTITIES, self.list_reputation_entities),
            web.put(_ENTITY + "/customer-managed-status", self.update_customer_managed_status),
            web.put(_ENTITY + "/policy", self.update_reputation_entity_policy),
            web.get(_ENTITY, self.get_reputation_entity),
        ]

    # --- tenants ---------------------------------------------------------------------------------

    @sesv2_operation()
    async def create_tenant(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        tenant = region.tenants.create(
            document.get("TenantName"),
            utc_now(),
            tags=document.get("Tags"),
            suppression=document.get("SuppressionAttributes"),
        )
        return ok(_described(tenant))

    @sesv2_operation()
    async def get_tenant(self, request: web.Request, region: SesRegion) -> web.Response:
        name = required_str(await json_object(request), "TenantName")
        return ok({"Tenant": _described(region.tenants.get(name))})

    @sesv2_operation()
    async def list_tenants(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        tenants, token = region.tenants.page(
            filters_of(document),
            optional_int(document.get("PageSize"), "PageSize"),
            optional_str(document.get("NextToken"), "NextToken"),
        )
        return _paged("Tenants", [_info(tenant) for tenant in tenants], token)

    @sesv2_operation()
    async def delete_tenant(self, request: web.Request, region: SesRegion) -> web.Response:
        region.tenants.delete(required_str(await json_object(request), "TenantName"))
        return ok()

    @sesv2_operation()
    async def put_tenant_suppression_attributes(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        region.tenants.set_suppression(
            required_str(document, "TenantName"),
            {key: document[key] for key in ("SuppressedReasons", "SuppressionScope") if key in document},
        )
        return ok()

    # --- resources -------------------------------------------------------------------------------

    @sesv2_operation()
    async def create_tenant_resource_association(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        region.associate(required_str(document, "TenantName"), required_str(document, "ResourceArn"), utc_now())
        return ok()

    @sesv2_operation()
    async def delete_tenant_resource_association(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        region.tenants.dissociate(required_str(document, "TenantName"), required_str(document, "ResourceArn"))
        return ok()

    @sesv2_operation()
    async def list_tenant_resources(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        arns, token = region.tenants.resource_page(
            required_str(document, "TenantName"),
            filters_of(document),
            optional_int(document.get("PageSize"), "PageSize"),
            optional_str(document.get("NextToken"), "NextToken"),
        )
        return _paged(
            "TenantResources", [{"ResourceType": resource_type_of(arn), "ResourceArn": arn} for arn in arns], token
        )

    @sesv2_operation()
    async def list_resource_tenants(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        arn = region.require_resource(required_str(document, "ResourceArn"))
        tenants, token = region.tenants.tenants_of_page(
            arn,
            optional_int(document.get("PageSize"), "PageSize"),
            optional_str(document.get("NextToken"), "NextToken"),
        )
        return _paged(
            "ResourceTenants",
            [
                {
                    "TenantName": t.name,
                    "TenantId": t.tenant_id,
                    "ResourceArn": arn,
                    "AssociatedTimestamp": epoch_seconds(t.resources[arn]),
                }
                for t in tenants
            ],
            token,
        )

    # --- reputation ------------------------------------------------------------------------------

    @sesv2_operation()
    async def get_reputation_entity(self, request: web.Request, region: SesRegion) -> web.Response:
        tenant = region.tenants.by_arn(_entity_reference(request))
        return ok({"ReputationEntity": _entity(tenant, region.tenants)})

    @sesv2_operation()
    async def list_reputation_entities(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        tenants, token = region.tenants.entity_page(
            filters_of(document),
            optional_int(document.get("PageSize"), "PageSize"),
            optional_str(document.get("NextToken"), "NextToken"),
        )
        return _paged("ReputationEntities", [_entity(tenant, region.tenants) for tenant in tenants], token)

    @sesv2_operation()
    async def update_customer_managed_status(self, request: web.Request, region: SesRegion) -> web.Response:
        reference = _entity_reference(request)
        region.tenants.set_customer_status(reference, (await json_object(request)).get("SendingStatus"), utc_now())
        return ok()

    @sesv2_operation()
    async def update_reputation_entity_policy(self, request: web.Request, region: SesRegion) -> web.Response:
        reference = _entity_reference(request)
        region.tenants.set_policy(reference, (await json_object(request)).get("ReputationEntityPolicy"))
        return ok()
