"""The public unsubscribe endpoint: RFC 8058 one-click POST and the landing page, on its own port.

GET /u/{token} only shows a page: mail scanners and link previewers fetch every link in a message,
so a GET that unsubscribed would unsubscribe people who never asked. Everything that changes
state is a POST, and is durable in the log before the answer is sent.
"""

from __future__ import annotations

import logging

from aiohttp import web
from multidict import MultiDictProxy

from services.core.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.core.event_store import ConcurrencyConflict
from services.core.http_server import HttpEndpoint, new_app
from services.core.unsubscribe_token import InvalidUnsubscribeToken, TokenClaims
from services.unsubscribe import domain, metrics, pages
from services.unsubscribe.application import UnsubscribeApplication

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": pages.CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",  # the token in the URL must not leak to anyone
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}
HTML = "text/html"
TEXT = "text/plain"
NOT_ONE_CLICK = (
    "expected the body List-Unsubscribe=One-Click (RFC 8058), as "
    "application/x-www-form-urlencoded or multipart/form-data"
)


class UnsubscribeHttp:
    def __init__(self, app: UnsubscribeApplication) -> None:
        self.app = app

    def routes(self, web_app: web.Application) -> None:
        web_app.router.add_get("/u/{token}", self.show_page)
        web_app.router.add_post("/u/{token}", self.post)
        web_app.on_response_prepare.append(_add_security_headers)

    async def show_page(self, request: web.Request) -> web.Response:
        claims = self._claims(request)
        return web.Response(text=pages.confirm_page(claims.list_id), content_type=HTML)

    async def post(self, request: web.Request) -> web.Response:
        claims = self._claims(request)
        form = await _form(request)
        try:
            if _field(form, "List-Unsubscribe") == "One-Click":
                return await self._one_click(claims)
            action = _field(form, pages.FORM_FIELD)
            if action == pages.UNSUBSCRIBE_ACTION:
                await self.app.record_unsubscribe(self.app.command_from_token(claims, domain.LINK))
                return web.Response(text=pages.unsubscribed_page(claims.list_id), content_type=HTML)
            if action == pages.RESUBSCRIBE_ACTION:
                await self.app.record_resubscribe(claims.account_id, claims.email, claims.list_id, domain.LINK)
                return web.Response(text=pages.resubscribed_page(claims.list_id), content_type=HTML)
        except InvalidArgument:
            raise _invalid_link() from None  # a token we signed for an address we now refuse
        except (FailedPrecondition, ConcurrencyConflict, Unavailable) as error:
            log.warning("unsubscribe not recorded", extra={"error": str(error)})
            raise web.HTTPServiceUnavailable(text="temporarily unavailable, retry later\n") from None
        raise web.HTTPBadRequest(text=pages.bad_request_page(NOT_ONE_CLICK), content_type=HTML)

    async def _one_click(self, claims: TokenClaims) -> web.Response:
        changed, _seq = await self.app.record_unsubscribe(self.app.command_from_token(claims, domain.ONE_CLICK))
        log.info(
            "one-click unsubscribe",
            extra={"account_id": claims.account_id, "changed": changed, "recipient_hash": claims.recipient_hash},
        )
        return web.Response(text=pages.ONE_CLICK_DONE, content_type=TEXT)

    def _claims(self, request: web.Request) -> TokenClaims:
        try:
            return self.app.verify_token(request.match_info["token"])
        except InvalidUnsubscribeToken:
            metrics.TOKENS_REFUSED.inc()
            raise _invalid_link() from None
        except FailedPrecondition as error:
            raise web.HTTPServiceUnavailable(text=f"{error.message}\n") from None


async def _form(request: web.Request) -> MultiDictProxy:
    try:
        return await request.post()
    except web.HTTPException:
        raise
    except Exception:
        raise web.HTTPBadRequest(text=pages.bad_request_page(NOT_ONE_CLICK), content_type=HTML) from None


def _field(form: MultiDictProxy, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _invalid_link() -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=pages.invalid_link_page(), content_type=HTML)


async def _add_security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def build_endpoint(app: UnsubscribeApplication, host: str, port: int, is_ready, describe=lambda: "") -> HttpEndpoint:
    web_app = new_app()
    UnsubscribeHttp(app).routes(web_app)
    return HttpEndpoint(web_app, host, port, is_ready, describe)
