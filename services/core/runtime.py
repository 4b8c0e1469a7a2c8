"""Running one service: the event store, its projections, gRPC, HTTP and workers, until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Coroutine

from sqlalchemy.ext.asyncio import AsyncEngine

from services.core import tracing
from services.core.database import create_engine
from services.core.event_store import EventStore
from services.core.grpc_server import GrpcServer
from services.core.log import configure_logging
from services.core.metrics import start_metrics_server
from services.core.projection import ProjectionRunner
from services.core.settings import Settings
from services.core.tasks import cancel_all

if TYPE_CHECKING:  # aiohttp is loaded by the services that serve HTTP, and only by them
    from services.core.http_server import HttpEndpoint

log = logging.getLogger(__name__)

OWED_APPENDS_CHECK_SECONDS = 1.0


@dataclass
class ServiceComponents:
    grpc: GrpcServer
    projections: list[ProjectionRunner] = field(default_factory=list)
    http: list[HttpEndpoint] = field(default_factory=list)
    workers: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    # Given the shutdown grace, finish the work in hand before the workers are cancelled.
    draining: list[Callable[[float], Awaitable[None]]] = field(default_factory=list)
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


Builder = Callable[[Settings, EventStore, AsyncEngine], Awaitable[ServiceComponents]]


class RunningService:
    """A started service; `stop()` drains it. Tests start services in-process through this."""

    def __init__(
        self, name: str, settings: Settings, store: EventStore, engine: AsyncEngine, components: ServiceComponents
    ) -> None:
        self.name = name
        self.settings = settings
        self.store = store
        self.engine = engine
        self.components = components
        self._tasks: list[asyncio.Task] = []

    @property
    def grpc_port(self) -> int:
        return self.components.grpc.port

    @property
    def ready(self) -> bool:
        return all(runner.caught_up.is_set() for runner in self.components.projections)

    async def start(self) -> None:
        await self.components.grpc.start()
        for runner in self.components.projections:
            await runner.start()
        for hook in self.components.on_start:
            await hook()
        for endpoint in self.components.http:
            endpoint.not_ready_reason = self.store.owed.overdue_reason
            await endpoint.start()
        self._tasks = [asyncio.create_task(self._become_ready(), name=f"{self.name}-ready")]
        self._tasks += [asyncio.create_task(worker(), name=f"{self.name}-worker") for worker in self.components.workers]

    async def _become_ready(self) -> None:
        await asyncio.gather(*(runner.caught_up.wait() for runner in self.components.projections))
        await self.components.grpc.mark_serving()
        log.info("ready", extra={"grpc_port": self.grpc_port, "read_model": self.readiness()})
        await self._follow_the_event_log()

    def readiness(self) -> str:
        """How each read model got ready (resumed, restored from a snapshot, replayed), or how far it is."""
        return "; ".join(runner.describe_start() for runner in self.components.projections)

    async def _follow_the_event_log(self) -> None:
        """NOT_SERVING while an owed append is overdue (the log has been away too long), SERVING again after."""
        serving = True
        while True:
            await asyncio.sleep(OWED_APPENDS_CHECK_SECONDS)
            overdue = self.store.owed.watch() is not None
            if overdue == serving:
                serving = not overdue
                await (self.components.grpc.mark_serving() if serving else self.components.grpc.mark_not_serving())

    async def stop(self) -> None:
        for endpoint in self.components.http:
            await endpoint.stop()
        grace = self.settings.shutdown_grace
        await asyncio.gather(self.components.grpc.stop(grace), *(drain(grace) for drain in self.components.draining))
        await cancel_all(self._tasks)
        for hook in self.components.on_stop:
            await hook()
        for runner in self.components.projections:
            await runner.stop()
        await self.store.close()
        await self.engine.dispose()


async def start_service(name: str, settings: Settings, build: Builder) -> RunningService:
    store = await EventStore.connect(settings, name=f"postroom-{name}")
    engine = create_engine(settings.database_url_for(name))
    try:
        components = await build(settings, store, engine)
    except BaseException:
        await store.close()
        await engine.dispose()
        raise
    service = RunningService(name, settings, store, engine, components)
    try:
        await service.start()
    except BaseException:
        try:
            await service.stop()  # what did start (a runner, the HTTP endpoint) stops again
        except Exception:
            log.warning("a service that did not start did not stop cleanly either", exc_info=True)
        raise
    return service


async def run_until_signalled(name: str, settings: Settings, build: Builder) -> None:
    configure_logging(name, settings.log_level)
    if settings.otlp_endpoint:
        tracing.configure(settings.otlp_endpoint, name)
    start_metrics_server(settings.bind_host, settings.metrics_port)
    service = await start_service(name, settings, build)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    log.info("stopping", extra={"grace_seconds": settings.shutdown_grace})
    await service.stop()
    tracing.shutdown()
    log.info("stopped")
