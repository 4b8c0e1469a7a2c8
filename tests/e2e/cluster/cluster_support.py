"""What the cluster tests share: finding the stream leader, waiting, counting what the SMTP server got."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc

from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.nats_server import EmbeddedNatsServer, NatsCluster
from tests.integration.dispatch.dispatch_support import METADATA, dispatch_events, email
from tests.support.service_process import service_environment
from tests.support.smtp import SesLikeSmtpServer


async def stream_leader(store: EventStore, nats_cluster: NatsCluster) -> EmbeddedNatsServer:
    info = await store.patiently(lambda: store.js.stream_info(store.stream), patience=30)
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
    return {dispatch_id: len(times) for dispatch_id, times in arrivals_by_dispatch(sink).items()}


def arrivals_by_dispatch(sink: SesLikeSmtpServer) -> dict[str, list[float]]:
    """When each copy of each dispatch reached the SMTP server."""
    arrivals: dict[str, list[float]] = {}
    for message in list(sink.received):
        arrivals.setdefault(message.dispatch_id, []).append(message.received_at)
    return arrivals


def dispatch_environment(settings, **extra: str) -> dict[str, str]:
    # A lease well beyond a leader election (which takes several seconds), renewed every third.
    defaults = dict(POSTROOM_SMTP_TIMEOUT="5", POSTROOM_DISPATCH_ACK_WAIT="30", POSTROOM_DISPATCH_CONCURRENCY="100")
    return service_environment(settings, **{**defaults, **extra})


async def start_dispatchers(processes, settings, count: int, **extra):
    started = [
        processes.start("dispatch", dispatch_environment(settings, **extra), name=f"dispatch-{i}") for i in range(count)
    ]
    for process in started:
        await process.wait_until_serving()
    return started


async def queue(process, count: int, prefix: str = "user") -> set[str]:
    ids: set[str] = set()
    async with grpc.aio.insecure_channel(process.grpc_address) as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        for start in range(0, count, 1000):
            answer = await stub.SendEmailBatch(
                dispatch_pb2.SendEmailBatchRequest(
                    messages=[
                        email(to=f"{prefix}{i}@example.org", idempotency_key=f"{prefix}-{i}")
                        for i in range(start, min(count, start + 1000))
                    ]
                ),
                metadata=METADATA,
            )
            assert all(r.error_code == 0 for r in answer.results), [r for r in answer.results if r.error_code][:3]
            ids |= {r.dispatch_id for r in answer.results}
    return ids


async def outcomes_recorded(store, ids: set[str], timeout: float, processes=None) -> list:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        # The test's own reads meet the cluster's hiccups too (an election after the kill and
        # after the restart): they are as patient as the product's.
        remaining = max(1.0, deadline - asyncio.get_running_loop().time())
        events = await store.patiently(lambda: dispatch_events(store), patience=remaining)
        done = {e.aggregate_id for e in events if e.type != "EmailQueued"}
        if done >= ids:
            return events
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(_without_outcome(ids - done, events, processes))
        await asyncio.sleep(1)


def _without_outcome(missing: set[str], events: list, processes) -> str:
    """What a failure needs to be understood from CI's output alone: the emails, their events, and
    what the services logged about them and about the log."""
    lines = [f"{len(missing)} emails without an outcome: {sorted(missing)[:5]}"]
    for dispatch_id in sorted(missing)[:3]:
        lines.append(f"  {dispatch_id}: {[e.type for e in events if e.aggregate_id == dispatch_id]}")
    for process in processes.processes if processes is not None else []:
        logged = process.log().splitlines()
        about = [line for line in logged if any(d in line for d in missing)]
        trouble = [line for line in logged if '"level": "info"' not in line]
        lines.append(f"--- {process.name}: about them {about[-10:]}\n    the rest (last 15): {trouble[-15:]}")
    return "\n".join(lines)


def window_counts(times: list[float], window: float, start: float, end: float, step: float = 0.25) -> list[int]:
    """How many of `times` fall in each window [t, t + window) for t from `start` while t + window <= `end`."""
    ordered = sorted(times)
    counts, t, low, high = [], start, 0, 0
    while t + window <= end:
        while low < len(ordered) and ordered[low] < t:
            low += 1
        high = max(high, low)
        while high < len(ordered) and ordered[high] < t + window:
            high += 1
        counts.append(high - low)
        t += step
    return counts
