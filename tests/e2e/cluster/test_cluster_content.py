"""The content store on a 3-node cluster: an R3 bucket, patient through a kill of its leader.

Two dispatch replicas take emails that each carry an attachment of their own while the nats-server
leading the content bucket's stream is killed with -9 (an election: a few seconds without writes)
and comes back. Every email is accepted (a client retries UNAVAILABLE with its idempotency key, as
the API asks), and every one reaches the SMTP server once with its attachment byte for byte.
"""

from __future__ import annotations

import asyncio
import itertools
import os

import grpc
import pytest

from services.core.content_store import ContentStore
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from tests.e2e.cluster.cluster_support import outcomes_recorded, received_once_each, start_dispatchers, until
from tests.integration.dispatch.dispatch_support import METADATA, email, save_provider

pytestmark = pytest.mark.slow

EMAILS = 150
SENDERS = 4


async def test_attachments_go_through_a_kill_of_the_content_buckets_leader(
    nats_cluster, cluster_settings, cluster_store, processes, sink
):
    await save_provider(cluster_store, cluster_settings, sink, max_send_rate=100_000.0, max_connections=4)
    dispatchers = await start_dispatchers(processes, cluster_settings, 2)
    content = ContentStore.beside(cluster_store, patience=30.0)
    await content.put(b"warm-up: the bucket exists")
    bucket = await cluster_store.js.stream_info(f"OBJ_{content.bucket}")
    assert bucket.config.num_replicas == 3
    files = {i: os.urandom(20_000 + i) for i in range(EMAILS)}
    sent: dict[str, bytes] = {}
    unavailable = 0
    numbers = iter(range(EMAILS))

    async def sender(address: str) -> None:
        nonlocal unavailable
        async with grpc.aio.insecure_channel(address) as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            for i in numbers:
                request = email(
                    to=f"user{i}@example.org",
                    idempotency_key=f"file-{i}",
                    attachments=[
                        dispatch_pb2.Attachment(
                            filename=f"file-{i}.pdf", media_type="application/pdf", content=files[i]
                        )
                    ],
                )
                while True:
                    try:
                        sent[(await stub.SendEmail(request, metadata=METADATA)).dispatch_id] = files[i]
                        break
                    except grpc.aio.AioRpcError as error:
                        assert error.code() is grpc.StatusCode.UNAVAILABLE, error.details()
                        unavailable += 1
                        await asyncio.sleep(0.5)

    addresses = itertools.cycle(process.grpc_address for process in dispatchers)
    senders = [asyncio.ensure_future(sender(next(addresses))) for _ in range(SENDERS)]
    await until(lambda: len(sent) >= EMAILS // 4, 60, "a quarter of the emails accepted")
    info = await cluster_store.patiently(lambda: cluster_store.js.stream_info(f"OBJ_{content.bucket}"), patience=30)
    leader = nats_cluster.node(info.cluster.leader)
    leader.kill()
    accepted_at_kill = len(sent)
    await asyncio.sleep(6)
    leader.start()
    await asyncio.gather(*senders)
    assert accepted_at_kill < EMAILS, "the leader must die while emails are coming in"

    await outcomes_recorded(cluster_store, set(sent), timeout=120, processes=processes)
    counts = received_once_each(sink)
    assert set(counts) == set(sent) and max(counts.values()) == 1
    for message in list(sink.received):
        (part,) = [p for p in message.parsed().walk() if p.get_filename()]
        assert part.get_payload(decode=True) == sent[message.dispatch_id]
