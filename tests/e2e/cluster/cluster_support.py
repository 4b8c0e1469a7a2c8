"""What the cluster tests share: finding the stream leader, waiting, counting what the SMTP server got."""

from __future__ import annotations

import asyncio
import time
import uuid

from services.core.event_store import EventStore
from services.core.nats_server import EmbeddedNatsServer, NatsCluster
from tests.support.smtp import SesLikeSmtpServer


async def stream_leader(store: EventStore, nats_cluster: NatsCluster) -> EmbeddedNatsServer:
    info = await store.js.stream_info(store.stream)
    return nats_cluster.node(info.cluster.leader)


async def until(condition, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(interval)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def received_once_each(sink: SesLikeSmtpServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for message in list(sink.received):
        counts[message.dispatch_id] = counts.get(message.dispatch_id, 0) + 1
    return counts
