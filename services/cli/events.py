"""`postroom events tail`: print events as JSON lines as they are appended."""

from __future__ import annotations

import asyncio

from google.protobuf import json_format
from nats.js import api as js_api

from services.cli.client import event_store
from services.core.events import Event
from services.core.settings import Settings


async def tail(settings: Settings, from_seq: int) -> int:
    store = await event_store(settings, "postroom-events-tail")
    policy = js_api.DeliverPolicy.BY_START_SEQUENCE if from_seq else js_api.DeliverPolicy.NEW
    config = js_api.ConsumerConfig(opt_start_seq=from_seq) if from_seq else None

    async def show(msg) -> None:
        event = Event.FromString(msg.data)
        body = json_format.MessageToJson(event, indent=None, preserving_proto_field_name=True)
        print(f'{{"seq": {msg.metadata.sequence.stream}, "subject": "{msg.subject}", "event": {body}}}', flush=True)

    await store.js.subscribe(
        f"{store.prefix}.>", stream=store.stream, cb=show, ordered_consumer=True, deliver_policy=policy, config=config
    )
    try:
        await asyncio.Event().wait()
    finally:
        await store.close()
    return 0
