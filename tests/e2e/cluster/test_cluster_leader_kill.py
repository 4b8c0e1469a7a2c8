"""The stream leader of a 3-node cluster is killed with -9 mid-run: no email reaches SES twice.

Three dispatch replicas send 2,000 emails. A quarter of the way in, the nats-server leading the
R3 stream is killed; the stream elects a new leader (several seconds without appends), and the
server comes back later. Outcomes of emails SES already took are appended until durable, so every
email has exactly one outcome event and reaches the SMTP server exactly once.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from tests.e2e.cluster.cluster_support import received_once_each, stream_leader, until
from tests.integration.dispatch.dispatch_support import (METADATA, assert_one_outcome_each, dispatch_events, email,
                                                         save_provider)
from tests.support.service_process import service_environment

pytestmark = pytest.mark.slow

EMAILS = 2000


def dispatch_environment(settings, **extra):
    # A lease well beyond a leader election (which takes several seconds), renewed every third.
    return service_environment(settings, POSTROOM_SMTP_TIMEOUT="5", POSTROOM_DISPATCH_ACK_WAIT="30",
                               POSTROOM_DISPATCH_CONCURRENCY="100", **extra)


async def start_dispatchers(processes, settings, count: int):
    started = [processes.start("dispatch", dispatch_environment(settings), name=f"dispatch-{i}") for i in range(count)]
    for process in started:
        await process.wait_until_serving()
    return started


async def queue(process, count: int, prefix: str = "user") -> set[str]:
    ids: set[str] = set()
    async with grpc.aio.insecure_channel(process.grpc_address) as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        for start in range(0, count, 1000):
            answer = await stub.SendEmailBatch(dispatch_pb2.SendEmailBatchRequest(
                messages=[email(to=f"{prefix}{i}@example.org", idempotency_key=f"{prefix}-{i}")
                          for i in range(start, min(count, start + 1000))]), metadata=METADATA)
            assert all(r.error_code == 0 for r in answer.results), [r for r in answer.results if r.error_code][:3]
            ids |= {r.dispatch_id for r in answer.results}
    return ids


async def outcomes_recorded(store, ids: set[str], timeout: float) -> list:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        events = await dispatch_events(store)
        done = {e.aggregate_id for e in events if e.type != "EmailQueued"}
        if done >= ids:
            return events
        assert asyncio.get_running_loop().time() < deadline, f"{len(ids - done)} emails without an outcome"
        await asyncio.sleep(1)


async def test_killing_the_stream_leader_mid_run_sends_no_email_twice(nats_cluster, cluster_settings, cluster_store,
                                                                      processes, sink):
    await save_provider(cluster_store, cluster_settings, sink, max_send_rate=100_000.0, max_connections=8,
                        max_messages_per_connection=1000)
    dispatchers = await start_dispatchers(processes, cluster_settings, 3)
    ids = await queue(dispatchers[0], EMAILS)
    await until(lambda: len(sink.received) >= EMAILS // 4, 60, "a quarter of the emails sent")

    leader = await stream_leader(cluster_store, nats_cluster)
    leader.kill()
    sent_at_kill = len(sink.received)
    await asyncio.sleep(10)
    leader.start()

    events = await outcomes_recorded(cluster_store, ids, timeout=120)
    assert sent_at_kill < EMAILS, "the leader must die while mail is in flight"
    assert_one_outcome_each(events, ids)
    await asyncio.sleep(3)                       # a second send would show up now
    counts = received_once_each(sink)
    assert set(counts) == ids
    assert max(counts.values()) == 1, f"{sum(n > 1 for n in counts.values())} emails reached SES twice"
    retried = sum(process.metric("postroom_event_append_retries_total") for process in dispatchers)
    assert retried > 0, "the kill must have caught appends in flight"
