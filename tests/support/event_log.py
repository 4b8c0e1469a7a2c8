"""Reading a whole test stream back, for assertions over every event."""

from __future__ import annotations

import asyncio

from nats.js import api as js_api
from nats.js.client import JetStreamContext

from services.core.events import Event


async def every_event(js: JetStreamContext, stream: str, subject_prefix: str, timeout: float = 60.0) -> list[Event]:
    """Every event under `subject_prefix`, in stream order, through one ordered push consumer
    (thousands of events in well under a second, where a get per sequence takes seconds)."""
    total = (await js.stream_info(stream)).state.last_seq
    events: list[Event] = []
    done = asyncio.Event()

    async def collect(msg) -> None:
        events.append(Event.FromString(msg.data))
        if msg.metadata.sequence.stream >= total:
            done.set()

    subscription = await js.subscribe(f"{subject_prefix}.>", stream=stream, cb=collect, ordered_consumer=True,
                                      deliver_policy=js_api.DeliverPolicy.ALL)
    try:
        if total:
            await asyncio.wait_for(done.wait(), timeout)
    finally:
        await subscription.unsubscribe()
    return events
