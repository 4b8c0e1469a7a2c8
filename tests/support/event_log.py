"""Reading a whole test stream back, for assertions over every event."""

from __future__ import annotations

import asyncio

from nats.js import api as js_api
from nats.js.client import JetStreamContext

from services.core.events import Event, StoredEvent


async def every_event(js: JetStreamContext, stream: str, subject_prefix: str, timeout: float = 60.0) -> list[Event]:
    """Every event under `subject_prefix`, in stream order."""
    return [stored.event for stored in await every_stored_event(js, stream, subject_prefix, timeout)]


async def every_stored_event(
    js: JetStreamContext, stream: str, subject_prefix: str, timeout: float = 60.0
) -> list[StoredEvent]:
    """Every event under `subject_prefix` with its stream sequence, in stream order, through one
    ordered push consumer (thousands of events in well under a second, where a get per sequence
    takes seconds)."""
    total = (await js.stream_info(stream)).state.last_seq
    found: list[StoredEvent] = []
    done = asyncio.Event()

    async def collect(msg) -> None:
        seq = msg.metadata.sequence.stream
        found.append(StoredEvent(seq, msg.subject, Event.FromString(msg.data)))
        if seq >= total:
            done.set()

    subscription = await js.subscribe(
        f"{subject_prefix}.>", stream=stream, cb=collect, ordered_consumer=True, deliver_policy=js_api.DeliverPolicy.ALL
    )
    try:
        if total:
            await asyncio.wait_for(done.wait(), timeout)
    finally:
        await subscription.unsubscribe()
    return found
