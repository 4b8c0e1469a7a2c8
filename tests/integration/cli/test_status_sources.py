"""`postroom status` reads why a provider is paused, and the stream's state, from a real NATS server."""

from __future__ import annotations

import pytest

from services.cli.status import _paused_reasons, _stream
from services.core.event_store import EventStore
from services.dispatch.events import paused_event
from services.dispatch.guard import Scope
from services.dispatch.pauses import Cause
from tests.support.streams import delete_test_streams


@pytest.fixture
async def store(settings):
    store = await EventStore.connect(settings)
    yield store
    await delete_test_streams(store)
    await store.close()


async def test_the_reason_of_a_pause_is_its_last_provider_paused_event(store):
    await store.append(paused_event("acme", "p1", "first reason", cause=Cause.FAILURES, scope=Scope.ALL, failures=5))
    await store.append(
        paused_event(
            "acme", "p1", "535 Authentication Credentials Invalid", cause=Cause.FAILURES, scope=Scope.ALL, failures=5
        )
    )
    assert await _paused_reasons(store, ["p1", "p2"]) == {"p1": "535 Authentication Credentials Invalid"}


async def test_the_stream_reports_its_size_and_replicas(store):
    await store.append(paused_event("acme", "p1", "why", cause=Cause.FAILURES, scope=Scope.ALL, failures=1))
    stream = await _stream(store)
    assert stream.name == store.stream and stream.messages == 1 and stream.bytes > 0
    assert stream.replicas == 1 and stream.lagging == []
