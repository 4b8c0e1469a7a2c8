"""The JetStream event store against a real nats-server."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.core.event_store import (
    NEW_AGGREGATE,
    ConcurrencyConflict,
    EventStore,
    EventTooLarge,
    LogUnavailable,
    PendingAppend,
)
from services.core.ids import uuid7
from tests.support.events import provider_saved
from tests.support.streams import delete_test_streams


@pytest.fixture
async def store(settings):
    store = await EventStore.connect(settings)
    yield store
    await delete_test_streams(store)
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
    outcomes = await store.append_many(
        [PendingAppend(provider_saved("acme", provider_id, name=f"n{i}"), NEW_AGGREGATE) for i in range(20)]
    )
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(isinstance(o, ConcurrencyConflict) for o in outcomes if isinstance(o, Exception))


async def test_append_many_keeps_order_and_reports_each(store):
    events = [provider_saved("acme", str(uuid7())) for _ in range(300)]
    outcomes = await store.append_many([PendingAppend(e, NEW_AGGREGATE) for e in events])
    seqs = [o.stream_seq for o in outcomes]
    assert seqs == sorted(seqs) and len(set(seqs)) == 300


async def test_unknown_aggregate_has_no_last_event(store):
    assert await store.last_event("provider", "nothing-here") is None


# ---- appends retried until durable ----


async def test_a_durable_append_whose_first_try_landed_is_recognised_within_the_duplicate_window(store):
    provider_id = str(uuid7())
    event = provider_saved("acme", provider_id)
    first = await store.append(event, expected_sequence=NEW_AGGREGATE)  # its ack "lost"
    retried = await store.append_durably(event, expected_sequence=NEW_AGGREGATE, patience=5)
    assert retried.duplicate and retried.stream_seq == first.stream_seq
    assert await store.last_sequence() == first.stream_seq


async def test_after_the_duplicate_window_the_subject_itself_shows_the_append_was_ours(settings):
    store = await EventStore.connect(settings)  # the stream with a short window, made before anything else
    await store.js.delete_stream(settings.stream_name)
    await store.js.add_stream(
        name=settings.stream_name, subjects=[f"{settings.subject_prefix}.>"], duplicate_window=0.2
    )
    try:
        event = provider_saved("acme", str(uuid7()))
        first = await store.append(event, expected_sequence=NEW_AGGREGATE)
        await asyncio.sleep(0.5)
        retried = await store.append_durably(event, expected_sequence=NEW_AGGREGATE, patience=5)
        assert retried.duplicate and retried.stream_seq == first.stream_seq
        other = provider_saved("acme", event.aggregate_id, name="someone else")
        with pytest.raises(ConcurrencyConflict):  # a real conflict stays one
            await store.append_durably(other, expected_sequence=NEW_AGGREGATE, patience=5)
    finally:
        await store.js.delete_stream(settings.stream_name)
        await store.close()


async def test_a_request_append_gives_up_after_its_patience_saying_the_outcome_is_unknown(store):
    await store.js.delete_stream(store.stream)  # the log is away: nothing answers
    started = time.monotonic()
    with pytest.raises(LogUnavailable) as refused:
        await store.append_durably(provider_saved("acme", str(uuid7())), expected_sequence=NEW_AGGREGATE, patience=0.5)
    assert 0.5 <= time.monotonic() - started < 5
    assert "may or may not have been recorded" in refused.value.message
    await store.ensure_stream()


async def test_an_owed_append_waits_for_the_log_to_come_back(store):
    await store.js.delete_stream(store.stream)
    event = provider_saved("acme", str(uuid7()))
    owed = asyncio.create_task(store.append_durably(event, expected_sequence=NEW_AGGREGATE, patience=None))
    await asyncio.sleep(1.0)
    assert not owed.done() and store.owed.count == 1
    await store.ensure_stream()
    appended = await asyncio.wait_for(owed, 10)
    assert (await store.last_event("provider", event.aggregate_id)).stream_seq == appended.stream_seq
    assert store.owed.count == 0


async def test_an_event_over_the_servers_message_limit_is_refused_before_anything_is_published(store):
    huge = provider_saved("acme", str(uuid7()), from_name="x" * (store.nc.max_payload + 1))
    small = provider_saved("acme", str(uuid7()))
    with pytest.raises(EventTooLarge) as refused:
        await store.append_many([PendingAppend(small), PendingAppend(huge)])
    assert "max_payload" in str(refused.value)
    assert await store.last_sequence() == 0
