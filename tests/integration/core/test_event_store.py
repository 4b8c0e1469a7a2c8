"""The JetStream event store against a real nats-server."""

from __future__ import annotations

import pytest

from services.core.event_store import NEW_AGGREGATE, ConcurrencyConflict, EventStore, PendingAppend
from services.core.ids import uuid7
from tests.support.events import provider_saved


@pytest.fixture
async def store(settings):
    store = await EventStore.connect(settings)
    yield store
    await store.js.delete_stream(settings.stream_name)
    await store.close()


async def test_stream_is_file_backed_with_no_age_limit(store, settings):
    info = await store.js.stream_info(settings.stream_name)
    assert info.config.subjects == [f"{settings.subject_prefix}.>"]
    assert str(getattr(info.config.storage, "value", info.config.storage)) == "file"
    assert not info.config.max_age


async def test_append_then_read_back_the_last_event(store):
    provider_id = str(uuid7())
    event = provider_saved("acme", provider_id)
    appended = await store.append(event, expected_sequence=NEW_AGGREGATE)
    last = await store.last_event("provider", provider_id)
    assert last.stream_seq == appended.stream_seq
    assert last.event == event
    assert last.subject == f"{store.prefix}.provider.{provider_id}"


async def test_a_retried_publish_is_stored_once(store):
    event = provider_saved("acme", str(uuid7()))
    first = await store.append(event)
    again = await store.append(event)
    assert again.duplicate and again.stream_seq == first.stream_seq
    assert await store.last_sequence() == first.stream_seq


async def test_natural_key_dedupes_across_different_events(store):
    first = await store.append(provider_saved("acme", str(uuid7())), msg_id="sns-message-1")
    second = await store.append(provider_saved("acme", str(uuid7())), msg_id="sns-message-1")
    assert second.duplicate and second.stream_seq == first.stream_seq


async def test_expected_sequence_conflict_is_its_own_exception(store):
    provider_id = str(uuid7())
    created = await store.append(provider_saved("acme", provider_id), expected_sequence=NEW_AGGREGATE)
    with pytest.raises(ConcurrencyConflict):
        await store.append(provider_saved("acme", provider_id), expected_sequence=NEW_AGGREGATE)
    updated = await store.append(provider_saved("acme", provider_id, name="v2"), expected_sequence=created.stream_seq)
    with pytest.raises(ConcurrencyConflict):
        await store.append(provider_saved("acme", provider_id, name="stale"), expected_sequence=created.stream_seq)
    assert (await store.last_event("provider", provider_id)).stream_seq == updated.stream_seq


async def test_concurrent_creates_of_one_aggregate_let_exactly_one_win(store):
    provider_id = str(uuid7())
    outcomes = await store.append_many([PendingAppend(provider_saved("acme", provider_id, name=f"n{i}"), NEW_AGGREGATE)
                                        for i in range(20)])
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(isinstance(o, ConcurrencyConflict) for o in outcomes if isinstance(o, Exception))


async def test_append_many_keeps_order_and_reports_each(store):
    events = [provider_saved("acme", str(uuid7())) for _ in range(300)]
    outcomes = await store.append_many([PendingAppend(e, NEW_AGGREGATE) for e in events])
    seqs = [o.stream_seq for o in outcomes]
    assert seqs == sorted(seqs) and len(set(seqs)) == 300


async def test_unknown_aggregate_has_no_last_event(store):
    assert await store.last_event("provider", "nothing-here") is None
