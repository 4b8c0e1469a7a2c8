"""Each provider's SNS topics, from ProviderSaved, ProviderDeleted and ProviderTopicAllowed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Boolean, Column, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import delete_in, upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection

metadata = MetaData()

providers = Table(
    "feedback_providers",
    metadata,
    Column("provider_id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("topic_arns", JSON, nullable=False),
    Column("allow_first_topic", Boolean, nullable=False),
)


@dataclass
class TopicChanges:
    """One batch, coalesced: each provider's final row (None = deleted)."""

    final: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    # Topics allowed for providers this batch did not save: merged into their stored rows.
    topics_added: dict[str, list[str]] = field(default_factory=dict)


class FeedbackProvidersProjection(Projection):
    name = "feedback.providers"
    version = 1
    metadata = metadata

    def new_changes(self) -> TopicChanges:
        return TopicChanges()

    @handles(events_pb2.ProviderSaved)
    def saved(self, changes: TopicChanges, stored: StoredEvent, saved: events_pb2.ProviderSaved) -> None:
        provider_id = stored.event.aggregate_id
        changes.final[provider_id] = {
            "provider_id": provider_id,
            "account_id": stored.event.account_id,
            "topic_arns": list(saved.sns_topic_arns),
            "allow_first_topic": saved.allow_first_sns_topic,
        }
        changes.topics_added.pop(provider_id, None)

    @handles(events_pb2.ProviderDeleted)
    def deleted(self, changes: TopicChanges, stored: StoredEvent, _deleted: events_pb2.ProviderDeleted) -> None:
        changes.final[stored.event.aggregate_id] = None
        changes.topics_added.pop(stored.event.aggregate_id, None)

    @handles(events_pb2.ProviderTopicAllowed)
    def topic_allowed(
        self, changes: TopicChanges, stored: StoredEvent, allowed: events_pb2.ProviderTopicAllowed
    ) -> None:
        provider_id, topic_arn = stored.event.aggregate_id, allowed.topic_arn
        row = changes.final.get(provider_id)
        if row is not None:
            if topic_arn not in row["topic_arns"]:
                row["topic_arns"] = [*row["topic_arns"], topic_arn]
        elif provider_id not in changes.final:
            changes.topics_added.setdefault(provider_id, []).append(topic_arn)

    async def write(self, conn: AsyncConnection, changes: TopicChanges) -> None:
        deleted = [provider_id for provider_id, row in changes.final.items() if row is None]
        await delete_in(conn, providers, providers.c.provider_id, deleted)
        await upsert(conn, providers, [row for row in changes.final.values() if row is not None], ["provider_id"])
        for provider_id, topics in changes.topics_added.items():
            current = await conn.scalar(select(providers.c.topic_arns).where(providers.c.provider_id == provider_id))
            if current is None:
                continue
            merged = list(json_list(current))
            merged += [arn for arn in dict.fromkeys(topics) if arn not in merged]
            await conn.execute(
                providers.update().where(providers.c.provider_id == provider_id).values(topic_arns=merged)
            )


def json_list(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value)
