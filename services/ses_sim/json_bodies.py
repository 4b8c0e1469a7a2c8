"""Request bodies that must be one JSON object (the SESv2 API's and the control endpoint's)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from services.ses_sim.errors import InvalidValue


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}`."""
    raw = await request.read()
    try:
        document = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidValue("body", "The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidValue("body", "The request body must be a JSON object.")
    return document
