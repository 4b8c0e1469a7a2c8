"""The config read model: one row per saved provider, rebuilt from ProviderSaved/Deleted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.config.domain import ProviderView
from services.core.database import delete_in, upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.live_engine import LiveEngine
from services.core.projection import Projection

metadata = MetaData()

providers = Table(
    "config_providers",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("provider_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("type", String(16), nullable=False),
    Column("smtp_host", String(253), nullable=False),
    Column("smtp_port", Integer, nullable=False),
    Column("smtp_username", String(128), nullable=False),
    Column("smtp_password_sealed", LargeBinary, nullable=False),
    Column("from_address", String(254), nullable=False),
    Column("from_name", String(100), nullable=False),
    Column("region", String(32), nullable=False),
    Column("ses_access_key_id", String(128), nullable=False),
    Column("ses_secret_access_key_sealed", LargeBinary, nullable=False),
    Column("max_send_rate", Float, nullable=False),
    Column("max_connections", Integer, nullable=False),
    Column("sns_topic_arns", Text, nullable=False),  # a JSON list, see _topics_json
    Column("allow_first_sns_topic", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("ses_configuration_set", String(64), nullable=False),
    Column("ses_tenant", String(64), nullable=False),
    Column("fallback_provider_ids", Text, nullable=False),  # a JSON list, in the order dispatch tries them
)


ProviderKey = tuple[str, str]


class _Saved(NamedTuple):
    """A provider's last save in the batch. Its row is built only when the batch is written:
    a replay saves the same providers again and again, and only the last save counts."""

    account_id: str
    saved: events_pb2.ProviderSaved
    seq: int


@dataclass
class ProviderChanges:
    """One batch, coalesced: only each provider's final state is written (None: deleted)."""

    final: dict[ProviderKey, _Saved | None] = field(default_factory=dict)
    topics_after_save: dict[ProviderKey, list[tuple[str, int]]] = field(default_factory=dict)
    # Topics allowed for providers this batch did not save: merged into their stored rows.
    topics_added: dict[ProviderKey, list[tuple[str, int]]] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for key, last_save in self.final.items():
            if last_save is not None:
                row = _row(*last_save)
                for arn, seq in self.topics_after_save.get(key, ()):
                    _add_topic(row, arn, seq)
                rows.append(row)
        return rows


class ProviderProjection(Projection):
    name = "config.providers"
    version = 3  # 2: ses_configuration_set, ses_tenant; 3: fallback_provider_ids
    metadata = metadata

    def new_changes(self) -> ProviderChanges:
        return ProviderChanges()

    @handles(events_pb2.ProviderSaved)
    def saved(self, changes: ProviderChanges, stored: StoredEvent, saved: events_pb2.ProviderSaved) -> None:
        key = (stored.event.account_id, stored.event.aggregate_id)
        changes.final[key] = _Saved(stored.event.account_id, saved, stored.stream_seq)
        if changes.topics_after_save:
            changes.topics_after_save.pop(key, None)
        if changes.topics_added:
            changes.topics_added.pop(key, None)

    @handles(events_pb2.ProviderDeleted)
    def deleted(self, changes: ProviderChanges, stored: StoredEvent, _deleted: events_pb2.ProviderDeleted) -> None:
        key = (stored.event.account_id, stored.event.aggregate_id)
        changes.final[key] = None
        changes.topics_after_save.pop(key, None)
        changes.topics_added.pop(key, None)

    @handles(events_pb2.ProviderTopicAllowed)
    def topic_allowed(
        self, changes: ProviderChanges, stored: StoredEvent, allowed: events_pb2.ProviderTopicAllowed
    ) -> None:
        key = (stored.event.account_id, stored.event.aggregate_id)
        if changes.final.get(key) is not None:
            changes.topics_after_save.setdefault(key, []).append((allowed.topic_arn, stored.stream_seq))
        elif key not in changes.final:
            changes.topics_added.setdefault(key, []).append((allowed.topic_arn, stored.stream_seq))

    async def write(self, conn: AsyncConnection, changes: ProviderChanges) -> None:
        deleted = [key for key, last_save in changes.final.items() if last_save is None]
        await delete_in(conn, providers, tuple_(providers.c.account_id, providers.c.provider_id), deleted)
        await upsert(conn, providers, changes.rows(), ["account_id", "provider_id"])
        await _add_topics(conn, changes.topics_added)


async def _add_topics(conn: AsyncConnection, added: dict[tuple[str, str], list[tuple[str, int]]]) -> None:
    for (account_id, provider_id), topics in added.items():
        where = and_(providers.c.account_id == account_id, providers.c.provider_id == provider_id)
        row = (await conn.execute(select(providers).where(where))).mappings().first()
        if row is None:
            continue
        updated = dict(row)
        for arn, seq in topics:
            _add_topic(updated, arn, seq)
        await conn.execute(
            providers.update().where(where).values(sns_topic_arns=updated["sns_topic_arns"], version=updated["version"])
        )


def _add_topic(row: dict[str, Any], arn: str, seq: int) -> None:
    topics = json.loads(row["sns_topic_arns"])
    if arn not in topics:
        row["sns_topic_arns"] = _topics_json((*topics, arn))
    row["version"] = seq


@lru_cache(maxsize=4096)
def _topics_json(topics: tuple[str, ...]) -> str:
    # Serialised once per distinct list: in a replay, encoding the same few lists again for every
    # ProviderSaved was 15% of the time.
    return json.dumps(list(topics))


def _row(account_id: str, saved, seq: int) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "provider_id": saved.provider_id,
        "name": saved.name,
        "type": saved.type or "SES",
        "smtp_host": saved.smtp_host,
        "smtp_port": saved.smtp_port,
        "smtp_username": saved.smtp_username,
        "smtp_password_sealed": saved.smtp_password_sealed,
        "from_address": saved.from_address,
        "from_name": saved.from_name,
        "region": saved.region,
        "ses_access_key_id": saved.ses_access_key_id,
        "ses_secret_access_key_sealed": saved.ses_secret_access_key_sealed,
        "max_send_rate": saved.max_send_rate,
        "max_connections": saved.max_connections,
        "sns_topic_arns": _topics_json(tuple(saved.sns_topic_arns)),
        "allow_first_sns_topic": saved.allow_first_sns_topic,
        "version": seq,
        "ses_configuration_set": saved.ses_configuration_set[:64],
        "ses_tenant": saved.ses_tenant[:64],
        "fallback_provider_ids": _topics_json(tuple(saved.fallback_provider_ids)),
    }


def view_of(row: Any) -> ProviderView:
    topics = row["sns_topic_arns"]
    if isinstance(topics, str):
        topics = json.loads(topics)
    return ProviderView(
        account_id=row["account_id"],
        provider_id=row["provider_id"],
        name=row["name"],
        type=row["type"],
        smtp_host=row["smtp_host"],
        smtp_port=row["smtp_port"],
        smtp_username=row["smtp_username"],
        has_smtp_password=bool(row["smtp_password_sealed"]),
        from_address=row["from_address"],
        from_name=row["from_name"],
        region=row["region"],
        ses_access_key_id=row["ses_access_key_id"],
        has_ses_secret_access_key=bool(row["ses_secret_access_key_sealed"]),
        max_send_rate=row["max_send_rate"],
        max_connections=row["max_connections"],
        sns_topic_arns=tuple(topics),
        allow_first_sns_topic=row["allow_first_sns_topic"],
        version=row["version"],
        ses_configuration_set=row["ses_configuration_set"],
        ses_tenant=row["ses_tenant"],
        fallback_provider_ids=tuple(json.loads(row["fallback_provider_ids"] or "[]")),
    )


class ProviderReadModel:
    def __init__(self, engine: AsyncEngine | LiveEngine) -> None:
        self.engine = engine

    async def get(self, account_id: str, provider_id: str) -> ProviderView | None:
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(providers).where(
                            providers.c.account_id == account_id, providers.c.provider_id == provider_id
                        )
                    )
                )
                .mappings()
                .first()
            )
        return view_of(row) if row else None

    async def with_ses_keys(self, account_id: str = "") -> list[dict[str, Any]]:
        """Every provider (of one account, or all) whose SES API keys are saved: config calls SES for them."""
        query = select(
            providers.c.account_id,
            providers.c.provider_id,
            providers.c.region,
            providers.c.ses_access_key_id,
            providers.c.ses_secret_access_key_sealed,
            providers.c.ses_tenant,
        ).where(providers.c.ses_access_key_id != "")
        if account_id:
            query = query.where(providers.c.account_id == account_id)
        async with self.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]

    async def fallbacks(self, account_id: str) -> dict[str, tuple[str, ...]]:
        """Each of the account's providers and the fallbacks it names."""
        query = select(providers.c.provider_id, providers.c.fallback_provider_ids).where(
            providers.c.account_id == account_id
        )
        async with self.engine.connect() as conn:
            return {provider_id: tuple(json.loads(names or "[]")) for provider_id, names in await conn.execute(query)}

    async def list(self, account_id: str, page_size: int, after: str) -> list[ProviderView]:
        query = (
            select(providers)
            .where(providers.c.account_id == account_id, providers.c.provider_id > after)
            .order_by(providers.c.provider_id)
            .limit(page_size)
        )
        async with self.engine.connect() as conn:
            return [view_of(row) for row in (await conn.execute(query)).mappings()]


def view_from_event(account_id: str, saved, seq: int) -> ProviderView:
    return view_of(_row(account_id, saved, seq))


async def sealed_secrets(engine: LiveEngine, account_id: str, provider_id: str) -> tuple[bytes, bytes]:
    """The stored ciphertexts, for an update that keeps them or a check that needs them."""
    query = select(providers.c.smtp_password_sealed, providers.c.ses_secret_access_key_sealed).where(
        providers.c.account_id == account_id, providers.c.provider_id == provider_id
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return (row[0], row[1]) if row else (b"", b"")
