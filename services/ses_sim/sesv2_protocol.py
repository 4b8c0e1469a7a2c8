"""SESv2's REST-JSON wire format as botocore speaks it: signed requests, JSON bodies, epoch-second
timestamps, and errors as `x-amzn-ErrorType` plus `{"message": ...}`.

`@sesv2_operation` wraps a handler: it refuses unsigned requests, picks the region the request was
signed for, and maps the simulator's errors to SES's codes, in this one place.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from services.ses_sim.errors import AlreadyExists, InvalidNextToken, InvalidValue, NotFound
from services.ses_sim.regions import SesRegion, UnservedRegion

Handler = Callable[[Any, web.Request, SesRegion], Awaitable[web.Response]]


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        content_type="application/json",
        headers={"x-amzn-ErrorType": code},
        text=json.dumps({"message": message}),
    )


def missing_authentication() -> web.Response:
    return error_response(403, "MissingAuthenticationTokenException", "Missing Authentication Token")


def is_unsigned(request: web.Request) -> bool:
    return not request.headers.get("Authorization")


def sesv2_operation(invalid_token_code: str = "BadRequestException") -> Callable[[Handler], Callable]:
    """For a method of an object with `regions`. `invalid_token_code`: what the operation calls a bad NextToken (ListSuppressedDestinations has
    its own InvalidNextTokenException; the other list calls answer BadRequestException)."""

    def decorate(handler: Handler) -> Callable[[Any, web.Request], Awaitable[web.Response]]:
        @functools.wraps(handler)
        async def answer(api: Any, request: web.Request) -> web.Response:
            if is_unsigned(request):
                return missing_authentication()
            try:
                region = api.regions.signed_for(request.headers["Authorization"])
                return await handler(api, request, region)
            except UnservedRegion as error:
                # What AWS says to a request signed for another region than the endpoint's.
                return error_response(
                    403, "InvalidSignatureException", f"Credential should be scoped to a valid region. {error.message}"
                )
            except InvalidNextToken as error:
                return error_response(400, invalid_token_code, error.message)
            except NotFound as error:
                return error_response(404, "NotFoundException", error.message)
            except AlreadyExists as error:
                return error_response(400, "AlreadyExistsException", error.message)
            except InvalidValue as error:
                return error_response(400, "BadRequestException", error.message)

        return answer

    return decorate


def ok(document: dict[str, Any] | None = None) -> web.Response:
    return web.json_response(document or {})


def epoch_seconds(moment: datetime) -> float:
    """SESv2 writes timestamps as epoch seconds (botocore reads them back as datetimes)."""
    return moment.timestamp()


def parse_timestamp(text: str, field: str) -> datetime:
    """A timestamp as botocore sends one in a query string (ISO 8601) or epoch seconds."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidValue(field, f"{field} must be a timestamp, not {text!r}.") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not math.isfinite(seconds):
        raise InvalidValue(field, f"{field} must be a timestamp, not {text!r}.")
    return datetime.fromtimestamp(seconds, UTC)


def optional_int(value: Any, field: str) -> int | None:
    """A whole number from JSON or a query string (None when absent)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidValue(field, f"{field} must be a whole number.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidValue(field, f"{field} must be a whole number, not {value!r}.") from None


def optional_str(value: Any, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidValue(field, f"{field} must be a string.")
    return value


def required_str(document: dict[str, Any], field: str) -> str:
    value = optional_str(document.get(field), field)
    if not value:
        raise InvalidValue(field, f"{field} is required.")
    return value


def filters_of(document: dict[str, Any]) -> dict[str, str]:
    value = document.get("Filter") or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidValue("Filter", "Filter must map filter names to strings.")
    return value


def utc_now() -> datetime:
    return datetime.now(UTC)
