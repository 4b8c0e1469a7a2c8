"""Wiring for the feedback service."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import feedback_pb2, feedback_pb2_grpc
from services.core.grpc_server import GrpcServer
from services.core.http_server import HttpEndpoint
from services.core.periodic import every
from services.core.projection import Projection, ProjectionRunner
from services.core.runtime import ServiceComponents
from services.core.settings import Settings
from services.feedback.api import FeedbackServicer
from services.feedback.application import FeedbackApplication, publish_reputation_rates
from services.feedback.http import sns_app
from services.feedback.projection import feedback_projections
from services.feedback.sns_confirmation import SubscriptionConfirmer
from services.feedback.sns_connector import sns_connector
from services.feedback.sns_session import SnsSession
from services.feedback.sns_verifier import (
    CertificateSource,
    HttpsCertificateFetcher,
    PinnedCertificateDirectory,
    SnsSignatureVerifier,
)


NAME = "feedback"
RATES_INTERVAL_SECONDS = 60.0


def projections(_settings: Settings) -> list[Projection]:
    return feedback_projections()


async def build(
    settings: Settings, store: EventStore, engine: AsyncEngine, *, connector: aiohttp.BaseConnector | None = None
) -> ServiceComponents:
    """`connector` carries outbound HTTPS to SNS (certificates, confirmations); tests pass one
    whose resolver and SSL context lead to a local stand-in for SNS."""
    session = sns_session(settings, connector)
    runner = ProjectionRunner.for_service(NAME, projections(settings), store, engine, settings.snapshot_interval)
    verifier = SnsSignatureVerifier(certificate_source(settings, session), max_age=max_age(settings))
    app = FeedbackApplication(settings, store, runner, verifier, SubscriptionConfirmer(session))
    servicer = FeedbackServicer(app)
    grpc_server = GrpcServer(
        settings.bind_host,
        settings.ports.feedback_grpc,
        settings.access_tokens,
        [feedback_pb2.DESCRIPTOR.services_by_name["FeedbackService"].full_name],
        lambda server: feedback_pb2_grpc.add_FeedbackServiceServicer_to_server(servicer, server),
    )
    http = HttpEndpoint(
        sns_app(app),
        settings.bind_host,
        settings.ports.feedback_http,
        lambda: runner.caught_up.is_set(),
        runner.describe_start,
    )

    async def publish_rates_every_minute() -> None:
        await runner.caught_up.wait()
        await every(
            RATES_INTERVAL_SECONDS,
            lambda: publish_reputation_rates(app.read_model, app.clock()),
            "publishing the reputation rates",
            first_at_once=True,
        )

    return ServiceComponents(
        grpc=grpc_server,
        projections=[runner],
        http=[http],
        workers=[publish_rates_every_minute],
        on_start=[app.context_reader.start],
        on_stop=[app.context_reader.stop, session.close],
    )


def sns_session(settings: Settings, connector: aiohttp.BaseConnector | None = None) -> SnsSession:
    return SnsSession((lambda: connector) if connector is not None else sns_connector(settings))


def certificate_source(settings: Settings, session: SnsSession) -> CertificateSource:
    if settings.sns_cert_dir:
        return PinnedCertificateDirectory(settings.sns_cert_dir)
    return HttpsCertificateFetcher(session)


def max_age(settings: Settings) -> timedelta | None:
    return timedelta(seconds=settings.sns_max_age_seconds) if settings.sns_max_age_seconds > 0 else None
