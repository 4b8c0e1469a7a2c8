"""SESv2's configuration-set calls: Create/Get/List/DeleteConfigurationSet(s)."""

from __future__ import annotations

from aiohttp import web

from services.ses_sim.configuration_sets import OPTION_NAMES, require_configuration_set_name
from services.ses_sim.json_bodies import json_object
from services.ses_sim.regions import Regions, SesRegion
from services.ses_sim.sesv2_protocol import filters_of, ok, optional_int, optional_str, sesv2_operation, utc_now

_COLLECTION = "/v2/email/configuration-sets"


class ConfigurationSetApi:
    def __init__(self, regions: Regions) -> None:
        self.regions = regions

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(_COLLECTION, self.create_configuration_set),
            web.post("/v2/email/list-configuration-sets", self.list_configuration_sets),
            web.get(_COLLECTION, self.list_configuration_sets),  # the route of botocore before 1.40
            web.get(_COLLECTION + "/{name}", self.get_configuration_set),
            web.delete(_COLLECTION + "/{name}", self.delete_configuration_set),
        ]

    @sesv2_operation()
    async def create_configuration_set(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request)
        name = require_configuration_set_name(document.get("ConfigurationSetName"))
        options = {key: value for key, value in document.items() if key in OPTION_NAMES}
        region.configuration_sets.create(name, options, utc_now())
        return ok()

    @sesv2_operation()
    async def get_configuration_set(self, request: web.Request, region: SesRegion) -> web.Response:
        return ok(region.configuration_sets.get(request.match_info["name"]).described())

    @sesv2_operation()
    async def list_configuration_sets(self, request: web.Request, region: SesRegion) -> web.Response:
        document = await json_object(request) if request.method == "POST" else dict(request.query)
        filters = filters_of(document) if request.method == "POST" else {}
        sets, token = region.configuration_sets.page(
            filters.get("CONFIGURATION_SET_NAME_CONTAINS", ""),
            optional_int(document.get("PageSize"), "PageSize"),
            optional_str(document.get("NextToken"), "NextToken"),
        )
        return ok({"ConfigurationSets": [s.name for s in sets], **({"NextToken": token} if token else {})})

    @sesv2_operation()
    async def delete_configuration_set(self, request: web.Request, region: SesRegion) -> web.Response:
        region.delete_configuration_set(request.match_info["name"])
        return ok()
