"""Helpers for unsubscribe tests: a service with a key, and reading its events back from the stream."""

from __future__ import annotations

from dataclasses import replace

from services.core.event_store import EventStore
from services.core.events import Event, StoredEvent
from services.core.secret_box import generate_key_spec
from services.core.settings import Settings
from services.core.unsubscribe_token import UnsubscribeTokens


def with_unsubscribe_key(settings: Settings, **overrides) -> Settings:
    return replace(settings, unsubscribe_keys=generate_key_spec("u1"), **overrides)


def tokens_of(settings: Settings) -> UnsubscribeTokens:
    return UnsubscribeTokens.from_spec(settings.unsubscribe_keys)


async def events_of_type(store: EventStore, aggregate_type: str) -> list[StoredEvent]:
    """Every event of one aggregate type, in stream order (test streams are small)."""
    found = []
    prefix = f"{store.prefix}.{aggregate_type}."
    for seq in range(1, await store.last_sequence() + 1):
        raw = await store.js.get_msg(store.stream, seq)
        if raw.subject.startswith(prefix):
            found.append(StoredEvent(seq, raw.subject, Event.FromString(raw.data or b"")))
    return found


async def subscription_events(store: EventStore, kind: str | None = None) -> list[StoredEvent]:
    events = await events_of_type(store, "subscription")
    return [e for e in events if kind is None or e.event.WhichOneof("payload") == kind]
