"""The stream reader: in order, bounded however far behind, and never past a message it missed."""

from __future__ import annotations

import asyncio

import pytest

from services.core.event_store import EventStore, PendingAppend
from services.core.stream_reader import StreamLost, StreamReader
from tests.support.events import provider_saved


async def fill(store: EventStore, count: int) -> None:
    for start in range(0, count, 1000):
        await store.append_many([PendingAppend(provider_saved("acme", f"p{i}")) for i in range(start, start + 1000)])


async def test_it_reads_every_event_in_order_through_many_pulls_and_holds_a_bounded_buffer(settings):
    store = await EventStore.connect(settings)
    await fill(store, 12_000)
    reader = StreamReader(store, 1, 1500)
    await reader.open()
    seen, largest_buffer = [], 0
    try:
        while len(seen) < 12_000:
            batch = await reader.take(1500, timeout=5)
            assert batch and len(batch) <= 1500
            seen += [seq for seq, _subject, _data in batch]
            await asyncio.sleep(0.02)  # a slow caller: the buffer must not grow past its limit
            largest_buffer = max(largest_buffer, len(reader.messages))
        assert seen == list(range(1, 12_001))
        assert largest_buffer <= reader.limit
        assert await reader.take(1500, timeout=0.3) == []  # at the head: nothing, after the timeout
    finally:
        await reader.close()
        await store.close()


async def test_a_message_missing_in_the_middle_is_noticed_and_a_new_reader_starts_after_it(settings):
    """Sequence 5 is gone from the stream (deleted): a reader does not step over it silently; one
    opened from the checkpoint finds the hole where it starts, and goes on."""
    store = await EventStore.connect(settings)
    await fill(store, 1000)
    await store.js.delete_msg(store.stream, 5)
    reader = StreamReader(store, 1, 100)
    await reader.open()
    try:
        assert [seq for seq, _, _ in await reader.take(4, timeout=5)] == [1, 2, 3, 4]
        with pytest.raises(StreamLost, match="sequence 5 was not delivered"):
            await reader.take(100, timeout=5)
    finally:
        await reader.close()
    again = StreamReader(store, 5, 3)
    await again.open()
    try:
        assert [seq for seq, _, _ in await again.take(3, timeout=5)] == [6, 7, 8]
    finally:
        await again.close()
        await store.close()
