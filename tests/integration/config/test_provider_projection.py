"""The config read model: saves, deletes and topics allowed by the feedback service."""

from __future__ import annotations

from services.config.projection import ProviderProjection, ProviderReadModel
from services.core.database import create_engine
from services.core.projection import ProjectionSet
from services.core.events import StoredEvent, new_event
from services.core.generated.postroom.v1 import events_pb2
from tests.support.events import provider_deleted, provider_saved

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"


def topic_allowed(provider_id: str) -> events_pb2.Event:
    return new_event(
        events_pb2.ProviderTopicAllowed(provider_id=provider_id, topic_arn=TOPIC),
        account_id="acme",
        aggregate_type="provider",
        aggregate_id=provider_id,
    )


async def apply(engine, *batches: list[events_pb2.Event]) -> None:
    projection, seq = ProjectionSet([ProviderProjection()]), 0
    for batch in batches:
        stored = []
        for event in batch:
            seq += 1
            stored.append(StoredEvent(seq, "", event))
        async with engine.begin() as conn:
            await projection.apply(conn, stored)


async def test_topics_allowed_in_the_same_batch_and_in_a_later_one(read_model_settings):
    engine = create_engine(read_model_settings.database_url_for("config"))
    await ProjectionSet([ProviderProjection()]).create_tables(engine)
    await apply(
        engine,
        [provider_saved("acme", "p1"), topic_allowed("p1"), provider_saved("acme", "p2")],
        [topic_allowed("p2"), topic_allowed("p2")],
        [provider_saved("acme", "p3"), provider_deleted("acme", "p3")],
    )
    read_model = ProviderReadModel(engine)
    first, second = await read_model.get("acme", "p1"), await read_model.get("acme", "p2")
    assert first.sns_topic_arns == (TOPIC,) and first.version == 2
    assert second.sns_topic_arns == (TOPIC,) and second.version == 5
    assert await read_model.get("acme", "p3") is None
    await engine.dispose()
