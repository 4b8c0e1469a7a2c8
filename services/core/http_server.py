"""The aiohttp bootstrap for public HTTP endpoints: health routes, metrics, no 500 on any input."""

from __future__ import annotations

import logging
from typing import Callable

from aiohttp import web

from services.core.metrics import http_requests

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024


@web.middleware
async def _count_and_contain(request: web.Request, handler):
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    try:
        response = await handler(request)
    except web.HTTPException as http_error:
        http_requests(route, str(http_error.status)).inc()
        raise
    except Exception:
        # A bug must not look like our input was accepted or tell SNS to stop retrying:
        # 503 asks the sender to retry later, and the traceback is in our log.
        log.exception("unhandled error in HTTP handler", extra={"route": route})
        http_requests(route, "503").inc()
        return web.Response(status=503, text="temporarily unavailable, retry later\n")
    http_requests(route, str(response.status)).inc()
    return response


class HttpEndpoint:
    """One aiohttp app on one port with /healthz (alive) and /readyz (read models caught up, and
    `describe()`: how they got there)."""

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        is_ready: Callable[[], bool],
        describe: Callable[[], str] = lambda: "",
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.is_ready = is_ready
        self.not_ready_reason: Callable[[], str | None] = lambda: None  # set by the running service
        self.describe = describe
        app.middlewares.insert(0, _count_and_contain)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner: web.AppRunner | None = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _request: web.Request) -> web.Response:
        detail = self.describe()
        if not self.is_ready():
            return web.Response(status=503, text=f"catching up\n{detail}\n" if detail else "catching up\n")
        if reason := self.not_ready_reason():
            return web.Response(status=503, text=f"{reason}\n")
        return web.Response(text=f"ready\n{detail}\n" if detail else "ready\n")

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None


def new_app(**kwargs) -> web.Application:
    return web.Application(client_max_size=MAX_BODY_BYTES, **kwargs)
