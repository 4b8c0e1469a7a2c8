"""Wiring for the unsubscribe service: gRPC, the public one-click endpoint and the complaint reactor."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import unsubscribe_pb2, unsubscribe_pb2_grpc
from services.core.grpc_server import GrpcServer
from services.core.projection import Projection, ProjectionRunner
from services.core.runtime import ServiceComponents
from services.core.settings import Settings
from services.unsubscribe.api import UnsubscribeServicer
from services.unsubscribe.application import UnsubscribeApplication, load_tokens
from services.unsubscribe.complaints import ComplaintReactor
from services.unsubscribe.http import build_endpoint
from services.unsubscribe.projection import UnsubscribeProjection, UnsubscribeSesListingsProjection

NAME = "unsubscribe"


def projections(_settings: Settings) -> list[Projection]:
    return [UnsubscribeProjection(), UnsubscribeSesListingsProjection()]


async def build(settings: Settings, store: EventStore, engine: AsyncEngine) -> ServiceComponents:
    runner = ProjectionRunner.for_service(NAME, projections(settings), store, engine, settings.snapshot_interval)
    app = UnsubscribeApplication(settings, store, runner, load_tokens(settings.unsubscribe_keys))
    servicer = UnsubscribeServicer(app)
    grpc_server = GrpcServer(
        settings.bind_host,
        settings.ports.unsubscribe_grpc,
        settings.access_tokens,
        [unsubscribe_pb2.DESCRIPTOR.services_by_name["UnsubscribeService"].full_name],
        lambda server: unsubscribe_pb2_grpc.add_UnsubscribeServiceServicer_to_server(servicer, server),
    )
    http = build_endpoint(
        app, settings.bind_host, settings.ports.unsubscribe_http, runner.caught_up.is_set, runner.describe_start
    )
    complaints = ComplaintReactor(app, store)
    return ServiceComponents(
        grpc=grpc_server,
        projections=[runner],
        http=[http],
        workers=[complaints.run],
        draining=[complaints.finish_in_flight],
    )
