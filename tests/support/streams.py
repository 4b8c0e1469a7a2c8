"""Removing what one test made in the shared nats-server: its stream and the buckets beside it."""

from __future__ import annotations

import contextlib

from services.core.event_store import EventStore


async def delete_test_streams(store: EventStore) -> None:
    """The test's event stream and its KV / Object Store buckets (named after the stream)."""
    names = [info.config.name for info in await store.js.streams_info()]
    for name in names:
        if name == store.stream or name.startswith(
            tuple(f"{kind}_{store.stream}{sep}" for kind in ("KV", "OBJ") for sep in "-_")
        ):
            with contextlib.suppress(Exception):
                await store.js.delete_stream(name)


async def stop_then_delete_streams(settings, services) -> None:
    """Stop in-process `services`, then delete the test's streams. In that order: a service whose
    stream vanished under it would wait out its patience with the log before it stopped."""
    for service in services:
        await service.stop()
    store = await EventStore.connect(settings)
    try:
        await delete_test_streams(store)
    finally:
        await store.close()
