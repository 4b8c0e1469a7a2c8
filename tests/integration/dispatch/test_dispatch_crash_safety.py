"""Crash safety with real processes: kill -9 mid-flight, restart, and two replicas side by side.

Each dispatch process is `python -m services.cli.main serve dispatch`, configured only through
POSTROOM_* variables, against the session's nats-server and a real STARTTLS + AUTH SMTP server.
"""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path

import grpc
import pytest

from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from tests.integration.dispatch.dispatch_support import (
    METADATA,
    assert_one_outcome_each,
    dispatch_events,
    email,
    save_provider,
)
from tests.support.service_process import ServiceProcess, service_environment

pytestmark = pytest.mark.slow

EMAILS = 2000
CONCURRENCY = 100  # the most a killed process can have in flight


def dispatch_process(settings, root: Path, name: str, data: str) -> ServiceProcess:
    env = service_environment(settings, POSTROOM_SMTP_TIMEOUT="1.5", POSTROOM_DISPATCH_CONCURRENCY=str(CONCURRENCY))
    process = ServiceProcess.fresh("dispatch", env, root, name)
    process.env["POSTROOM_DATA_DIR"] = str(root / data)
    return process.start()


async def queue_emails(grpc_port: int) -> set[str]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        ids: set[str] = set()
        for start in range(0, EMAILS, 1000):
            answer = await stub.SendEmailBatch(
                dispatch_pb2.SendEmailBatchRequest(
                    messages=[email(to=f"user{i}@example.org") for i in range(start, start + 1000)]
                ),
                metadata=METADATA,
            )
            assert all(r.error_code == 0 for r in answer.results)
            ids |= {r.dispatch_id for r in answer.results}
    return ids


async def wait_for_events(store: EventStore, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await store.last_sequence() < count:
        assert time.monotonic() < deadline, f"only {await store.last_sequence()} of {count} events"
        await asyncio.sleep(0.2)


def sink_counts(sink) -> collections.Counter:
    return collections.Counter(m.parsed()["X-Postroom-Dispatch-Id"] for m in list(sink.received))


async def test_kill_9_mid_flight_then_restart_delivers_everything_once(
    settings, stream_store, sink, processes, tmp_path
):
    await save_provider(
        stream_store, settings, sink, max_send_rate=100_000.0, max_connections=8, max_messages_per_connection=1000
    )
    first = dispatch_process(settings, tmp_path, "a", data="a")
    processes.append(first)
    await first.wait_until_serving()
    ids = await queue_emails(first.grpc_port)
    deadline = time.monotonic() + 30
    while len(sink.received) < EMAILS // 5:
        assert time.monotonic() < deadline, "nothing was sent"
        await asyncio.sleep(0.01)
    first.kill()
    sent_before_kill = len(sink.received)
    assert sent_before_kill < EMAILS, "the kill came too late to test anything"

    second = dispatch_process(settings, tmp_path, "b", data="a")
    processes.append(second)
    await wait_for_events(stream_store, 1 + 2 * EMAILS, timeout=60)

    assert_one_outcome_each(await dispatch_events(stream_store), ids)
    counts = sink_counts(sink)
    assert set(counts) == ids, "every email reached the sink"
    duplicates = sum(counts.values()) - len(counts)
    assert duplicates <= CONCURRENCY, f"{duplicates} duplicates; at most {CONCURRENCY} were in flight"


async def test_two_processes_split_the_work_and_never_send_one_email_twice(
    settings, stream_store, sink, processes, tmp_path
):
    await save_provider(
        stream_store, settings, sink, max_send_rate=100_000.0, max_connections=8, max_messages_per_connection=1000
    )
    pair = [dispatch_process(settings, tmp_path, name, data=name) for name in ("a", "b")]
    processes.extend(pair)
    for process in pair:
        await process.wait_until_serving()
    ids = await queue_emails(pair[0].grpc_port)
    await wait_for_events(stream_store, 1 + 2 * EMAILS, timeout=60)

    assert_one_outcome_each(await dispatch_events(stream_store), ids)
    counts = sink_counts(sink)
    assert set(counts) == ids and max(counts.values()) == 1, "no email was sent by both"
    shares = [process.metric("postroom_dispatch_outcomes_total", 'outcome="EmailDispatched"') for process in pair]
    assert sum(shares) == EMAILS and min(shares) > 0, f"both processes sent: {shares}"
