"""SESv2's suppression-list calls: List/Get/Put/DeleteSuppressedDestination(s), for the account's list
or, with `TenantName`, a tenant's."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.ses_sim.json_bodies import json_object
from services.ses_sim.regions import Regions, SesRegion
from services.ses_sim.sesv2_protocol import (
    epoch_seconds,
    ok,
    optional_int,
    optional_str,
    parse_timestamp,
    required_str,
    sesv2_operation,
    utc_now,
)
from services.ses_sim.suppression_list import SuppressedDestination, SuppressionQuery, require_address, require_reason

_COLLECTION = "/v2/email/suppression/addresses"


def _summary(entry: SuppressedDestination) -> dict[str, Any]:
    return {
        "EmailAddress": entry.email_address,
        "Reason": entry.reason,
        "LastUpdateTime": epoch_seconds(entry.last_update_time),
    }


def _attributes(entry: SuppressedDestination) -> dict[str, str]:
    return {
        name: value for name, value in (("MessageId", entry.message_id), ("FeedbackId", entry.feedback_id)) if value
    }


class SuppressionApi:
    def __init__(self, regions: Regions) -> None:
        self.regions = regions

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(_COLLECTION, self.list_suppressed_destinations),
            web.put(_COLLECTION, self.put_suppressed_destination),
            web.get(_COLLECTION + "/{address}", self.get_suppressed_destination),
            web.delete(_COLLECTION + "/{address}", self.delete_suppressed_destination),
        ]

    @sesv2_operation(invalid_token_code="InvalidNextTokenException")
    async def list_suppressed_destinations(self, request: web.Request, region: SesRegion) -> web.Response:
        query = request.query
        reasons = tuple(require_reason(reason) for reason in query.getall("Reason", []))
        start = parse_timestamp(query["StartDate"], "StartDate") if "StartDate" in query else None
        end = parse_timestamp(query["EndDate"], "EndDate") if "EndDate" in query else None
        entries, token = region.tenant_suppression_list(query.get("TenantName")).page(
            SuppressionQuery(reasons, start, end),
            optional_int(query.get("PageSize"), "PageSize"),
            query.get("NextToken"),
        )
        return ok(
            {
                "SuppressedDestinationSummaries": [_summary(entry) for entry in entries],
                **({"NextToken": token} if token else {}),
            }
        )

    @sesv2_operation()
    async def get_suppressed_destination(self, request: web.Request, region: SesRegion) -> web.Response:
        tenant = request.query.get("TenantName")
        entry = region.tenant_suppression_list(tenant).get(request.match_info["address"])
        return ok(
            {
                "SuppressedDestination": {
                    **_summary(entry),
                    "Attributes": _attributes(entry),
                    **({"TenantName": tenant} if tenant else {}),
                }
            }
        )

    @sesv2_operation()
    async def put_suppressed_destination(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        address = require_address(required_str(document, "EmailAddress"))
        reason = require_reason(document.get("Reason"))
        tenant = optional_str(document.get("TenantName"), "TenantName")
        region.tenant_suppression_list(tenant).put(address, reason, utc_now())
        return ok()

    @sesv2_operation()
    async def delete_suppressed_destination(self, request: web.Request, region: SesRegion) -> web.Response:
        region.tenant_suppression_list(request.query.get("TenantName")).delete(request.match_info["address"])
        return ok()
