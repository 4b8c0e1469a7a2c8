"""Wiring for the dispatch service: gRPC, the read model, and the SMTP workers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.core.content_store import ContentStore
from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.grpc_server import GrpcServer
from services.core.projection import Projection, ProjectionRunner
from services.core.runtime import ServiceComponents
from services.core.secret_box import SecretBox
from services.core.settings import Settings
from services.dispatch.api import DispatchServicer
from services.dispatch.application import DispatchApplication
from services.dispatch.content_sweeper import ContentSweeper
from services.dispatch.context import DispatchContext, LiveAttempts
from services.dispatch.email_content import EmailContent
from services.dispatch.guard_watch import GuardWatch
from services.dispatch.projection import DispatchReadModel, dispatch_projections
from services.dispatch.providers import ProviderDirectory
from services.dispatch.retries import FailedDispatchRetries
from services.dispatch.sending import SendTimings
from services.dispatch.ses_limits import SesLimits
from services.dispatch.shared_rate import SharedRates
from services.dispatch.unsubscribe import UnsubscribeLinks
from services.dispatch.worker import DispatchWorker

NAME = "dispatch"


def projections(settings: Settings) -> list[Projection]:
    return dispatch_projections(settings)


async def build(
    settings: Settings, store: EventStore, engine: AsyncEngine, timings: SendTimings | None = None
) -> ServiceComponents:
    runner = ProjectionRunner.for_service(NAME, projections(settings), store, engine, settings.snapshot_interval)
    read_model = DispatchReadModel(runner.engine)
    providers = ProviderDirectory(read_model, runner, store, SecretBox.from_spec(settings.secret_keys))
    unsubscribe = UnsubscribeLinks.from_settings(settings)
    context = DispatchContext(
        settings,
        store,
        runner,
        read_model,
        providers,
        unsubscribe,
        LiveAttempts(),
        SharedRates(store),
        SesLimits(store, refresh_seconds=min(30.0, settings.ses_account_poll_seconds)),
        EmailContent(
            ContentStore.beside(store, patience=settings.append_patience),
            refresh_after=settings.content_orphan_grace / 2,
        ),
    )
    app = DispatchApplication(context)
    worker = DispatchWorker(context, timings)
    sweeper = ContentSweeper(context)
    guard = GuardWatch(context)
    servicer = DispatchServicer(app, FailedDispatchRetries(context))
    grpc_server = GrpcServer(
        settings.bind_host,
        settings.ports.dispatch_grpc,
        settings.access_tokens,
        [dispatch_pb2.DESCRIPTOR.services_by_name["DispatchService"].full_name],
        lambda server: dispatch_pb2_grpc.add_DispatchServiceServicer_to_server(servicer, server),
    )
    return ServiceComponents(
        grpc=grpc_server,
        projections=[runner],
        workers=[worker.run, sweeper.run, guard.run],
        draining=[worker.finish_in_flight],
        on_start=[worker.start],
        on_stop=[worker.stop],
    )
