"""The control endpoint, `/_sim/...` on the web port: what a test or a person changes while the
simulator runs, in any served region (`?region=eu-west-1`; the default region without it).

    GET    /_sim                               the regions served, their SMTP ports and SNS topics
    GET    /_sim/account                       the account's standing and limits
    PUT    /_sim/account                       change them: {"enforcement_status": "SHUTDOWN",
                                                 "sending_enabled": false, "production_access_enabled": true,
                                                 "max_send_rate": 50, "max_24_hour_send": 1000} (any subset)
    PUT    /_sim/identities                    {"identities": ["example.com", "ops@other.test"]}
    GET    /_sim/suppressed[?tenant=T]         the account's (or tenant T's) suppression list
    PUT    /_sim/suppressed/{address}          {"reason": "BOUNCE" | "COMPLAINT", "last_update_time": ISO 8601}
    DELETE /_sim/suppressed/{address}
    GET    /_sim/configuration-sets
    PUT    /_sim/configuration-sets/{name}     create it (body: SESv2 options, e.g. {"SuppressionOptions": ...})
    DELETE /_sim/configuration-sets/{name}
    GET    /_sim/tenants
    PUT    /_sim/tenants/{name}                create it, associated with every identity and configuration
                                               set, and/or set the status SES manages for it:
                                               {"sending_status": "DISABLED", "cause": "bounce rate 12%"}
    DELETE /_sim/tenants/{name}

Bad input gets 400 with {"error": ..., "field": ...}; an unknown region or name 404.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from services.ses_sim.account import AccountChange
from services.ses_sim.errors import AlreadyExists, InvalidValue, NotFound, SimulatorError
from services.ses_sim.json_bodies import json_object
from services.ses_sim.regions import Regions, SesRegion
from services.ses_sim.suppression_list import SuppressedDestination
from services.ses_sim.tenants import Tenant, require_sending_status

PREFIX = "/_sim"


def _error(error: SimulatorError) -> web.Response:
    status = 404 if isinstance(error, NotFound) else 409 if isinstance(error, AlreadyExists) else 400
    return web.json_response(
        {"error": error.message, **({"field": error.field} if isinstance(error, InvalidValue) else {})}, status=status
    )


def suppressed_json(entry: SuppressedDestination) -> dict[str, Any]:
    return {
        "email_address": entry.email_address,
        "reason": entry.reason,
        "last_update_time": entry.last_update_time.isoformat(),
    }


def tenant_json(tenant: Tenant) -> dict[str, Any]:
    return {
        "name": tenant.name,
        "arn": tenant.arn,
        "tenant_id": tenant.tenant_id,
        "sending_status": tenant.sending_status,
        "ses_managed_status": tenant.ses_status.status,
        "customer_managed_status": tenant.customer_status.status if tenant.customer_status else None,
        "cause": tenant.ses_status.cause,
        "suppression_scope": tenant.suppression_scope,
        "resources": list(tenant.resources),
    }


def _timestamp(value: Any) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidValue("last_update_time", "last_update_time must be an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _handled(handler: Callable) -> Callable:
    async def answer(control: "SimulatorControl", request: web.Request) -> web.Response:
        try:
            return await handler(control, request, control.regions.get(request.query.get("region")))
        except SimulatorError as error:
            return _error(error)

    return answer


class SimulatorControl:
    def __init__(self, regions: Regions, smtp_ports: Callable[[str], dict[str, int]]) -> None:
        self.regions = regions
        self._smtp_ports = smtp_ports

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(PREFIX, self.overview),
            web.get(f"{PREFIX}/account", self.get_account),
            web.put(f"{PREFIX}/account", self.change_account),
            web.put(f"{PREFIX}/identities", self.set_identities),
            web.get(f"{PREFIX}/suppressed", self.list_suppressed),
            web.put(f"{PREFIX}/suppressed/{{address}}", self.suppress),
            web.delete(f"{PREFIX}/suppressed/{{address}}", self.unsuppress),
            web.get(f"{PREFIX}/configuration-sets", self.list_configuration_sets),
            web.put(f"{PREFIX}/configuration-sets/{{name}}", self.add_configuration_set),
            web.delete(f"{PREFIX}/configuration-sets/{{name}}", self.delete_configuration_set),
            web.get(f"{PREFIX}/tenants", self.list_tenants),
            web.put(f"{PREFIX}/tenants/{{name}}", self.put_tenant),
            web.delete(f"{PREFIX}/tenants/{{name}}", self.delete_tenant),
        ]

    @_handled
    async def overview(self, _: web.Request, default: SesRegion) -> web.Response:
        return web.json_response(
            {
                "default_region": default.name,
                "regions": [
                    {"name": region.name, "smtp_ports": self._smtp_ports(region.name), "topic_arn": region.topic_arn}
                    for region in self.regions
                ],
            }
        )

    @_handled
    async def get_account(self, _: web.Request, region: SesRegion) -> web.Response:
        return web.json_response(region.account.standing())

    @_handled
    async def change_account(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        known = set(AccountChange.__dataclass_fields__)
        if unknown := sorted(set(document) - known):
            raise InvalidValue(unknown[0], f"unknown account field {unknown[0]}; known: {', '.join(sorted(known))}")
        region.change_account(AccountChange(**document), time.monotonic())
        return web.json_response(region.account.standing())

    @_handled
    async def set_identities(self, request: web.Request, region: SesRegion) -> web.Response:
        names = (await json_object(request)).get("identities")
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise InvalidValue("identities", 'the body must be {"identities": ["example.com", ...]}')
        region.set_identities(names)
        return web.json_response(region.account.standing())

    @_handled
    async def list_suppressed(self, request: web.Request, region: SesRegion) -> web.Response:
        entries = region.tenant_suppression_list(request.query.get("tenant")).all()
        return web.json_response({"suppressed": [suppressed_json(entry) for entry in entries]})

    @_handled
    async def suppress(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        entry = region.tenant_suppression_list(request.query.get("tenant")).put(
            request.match_info["address"],
            document.get("reason", "BOUNCE"),
            _timestamp(document.get("last_update_time")),
        )
        return web.json_response(suppressed_json(entry))

    @_handled
    async def unsuppress(self, request: web.Request, region: SesRegion) -> web.Response:
        entry = region.tenant_suppression_list(request.query.get("tenant")).delete(request.match_info["address"])
        return web.json_response(suppressed_json(entry))

    @_handled
    async def list_configuration_sets(self, _: web.Request, region: SesRegion) -> web.Response:
        return web.json_response({"configuration_sets": [s.described() for s in region.configuration_sets.all()]})

    @_handled
    async def add_configuration_set(self, request: web.Request, region: SesRegion) -> web.Response:
        name, options = request.match_info["name"], await json_object(request)
        existing = region.configuration_sets.find(name)
        created = existing or region.configuration_sets.create(name, options, datetime.now(UTC))
        return web.json_response(created.described(), status=200 if existing else 201)

    @_handled
    async def delete_configuration_set(self, request: web.Request, region: SesRegion) -> web.Response:
        return web.json_response(region.delete_configuration_set(request.match_info["name"]).described())

    @_handled
    async def list_tenants(self, _: web.Request, region: SesRegion) -> web.Response:
        return web.json_response({"tenants": [tenant_json(tenant) for tenant in region.tenants.all()]})

    @_handled
    async def put_tenant(self, request: web.Request, region: SesRegion) -> web.Response:
        name, document, now = request.match_info["name"], await json_object(request), datetime.now(UTC)
        if unknown := sorted(set(document) - {"sending_status", "cause"}):
            raise InvalidValue(unknown[0], f"unknown tenant field {unknown[0]}; known: cause, sending_status")
        if "sending_status" in document:
            require_sending_status(document["sending_status"], "sending_status")
        created = region.tenants.find(name) is None
        if created:
            region.add_tenant_for_everything(name, now)
        if "sending_status" in document:
            region.tenants.set_ses_status(name, document["sending_status"], now, document.get("cause"))
        return web.json_response(tenant_json(region.tenants.get(name)), status=201 if created else 200)

    @_handled
    async def delete_tenant(self, request: web.Request, region: SesRegion) -> web.Response:
        return web.json_response(tenant_json(region.tenants.delete(request.match_info["name"])))
