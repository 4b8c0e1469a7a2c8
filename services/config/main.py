"""Wiring for the config service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.config.api import ConfigServicer
from services.config.application import ConfigApplication
from services.config.projection import ProviderProjection
from services.config.ses_listings import ConfigSesListingsProjection
from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import config_pb2, config_pb2_grpc
from services.core.grpc_server import GrpcServer
from services.core.projection import Projection, ProjectionRunner
from services.core.runtime import ServiceComponents
from services.core.secret_box import SecretBox
from services.core.settings import Settings

NAME = "config"


def projections(_settings: Settings) -> list[Projection]:
    return [ProviderProjection(), ConfigSesListingsProjection()]


async def build(settings: Settings, store: EventStore, engine: AsyncEngine) -> ServiceComponents:
    runner = ProjectionRunner.for_service(NAME, projections(settings), store, engine, settings.snapshot_interval)
    app = ConfigApplication(settings, store, runner, SecretBox.from_spec(settings.secret_keys))
    servicer = ConfigServicer(app, settings.public_url)
    grpc_server = GrpcServer(
        settings.bind_host,
        settings.ports.config_grpc,
        settings.access_tokens,
        [config_pb2.DESCRIPTOR.services_by_name["ConfigService"].full_name],
        lambda server: config_pb2_grpc.add_ConfigServiceServicer_to_server(servicer, server),
    )
    suppressions = app.ses_suppressions
    return ServiceComponents(
        grpc=grpc_server,
        projections=[runner],
        workers=[
            app.ses_accounts.poll_forever,
            suppressions.poll_forever,
            suppressions.run_removals,
            app.ses_tenants.poll_forever,
        ],
        draining=[suppressions.finish_in_flight],
    )
