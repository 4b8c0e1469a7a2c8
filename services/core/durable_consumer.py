"""Shared durable pull consumers (dispatch's queue, unsubscribe's complaint reactor).

A durable consumer keeps its position in the server, so the way to survive a NATS restart or a
lost consumer is simply to bind again and carry on; that loop and the binding live here once.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable

from nats.aio.msg import Msg
from nats.js import api as js_api
from nats.js.client import JetStreamContext

from services.core.event_store import EventStore

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0


async def keep_consuming(name: str, consume: Callable[[], Awaitable[None]]) -> None:
    """Run `consume` until cancelled; when it fails (NATS down, consumer lost), wait and bind again."""
    backoff = 0.2
    while True:
        try:
            await consume()
            backoff = 0.2
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("consumer interrupted; binding again", extra={"consumer": name, "error": repr(error)})
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


@asynccontextmanager
async def durable_pull(store: EventStore, aggregate_type: str, durable: str,
                       config: js_api.ConsumerConfig) -> AsyncIterator[JetStreamContext.PullSubscription]:
    """Bind the durable consumer on `<prefix>.<aggregate_type>.>`; unbind on the way out.

    Unacknowledged messages go back to the durable consumer; a subscription left bound would hold
    the connection's drain at shutdown for its whole timeout."""
    subscription = await store.js.pull_subscribe(f"{store.prefix}.{aggregate_type}.>", durable=durable,
                                                 stream=store.stream, config=config)
    try:
        yield subscription
    finally:
        try:
            await subscription.unsubscribe()
        except Exception:
            pass


async def fetch_batch(subscription: JetStreamContext.PullSubscription, batch: int, timeout: float) -> list[Msg]:
    """Up to `batch` messages, or none when `timeout` passes first.

    nats-py signals an empty fetch with its own TimeoutError and, when its no-wait probe used up
    the whole timeout, with asyncio's bare one: both are an empty fetch. Treating the second as a
    failure would unbind, and a message answering that late probe would wait out ack_wait."""
    try:
        return await subscription.fetch(batch, timeout=timeout)
    except TimeoutError:
        return []
