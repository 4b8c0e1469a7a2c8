"""Crash safety with real processes: kill -9 mid-flight, restart, and two replicas side by side.

Each dispatch process is `python -m services.cli.main serve dispatch`, configured only through
POSTROOM_* variables, against the session's nats-server and a real STARTTLS + AUTH SMTP server.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.nats_server import free_port
from tests.integration.dispatch.dispatch_support import (METADATA, assert_one_outcome_each, dispatch_events, email,
                                                         save_provider, start_sink)

pytestmark = pytest.mark.slow

EMAILS = 2000
CONCURRENCY = 100          # max_ack_pending: the most a killed process can have in flight
REPO = Path(__file__).resolve().parents[3]


class DispatchProcess:
    def __init__(self, settings, data_dir: Path, log_file: Path) -> None:
        self.grpc_port = free_port()
        self.metrics_port = free_port()
        self.log_file = log_file
        self.env = dict(os.environ, POSTROOM_NATS_URL=settings.nats_url, POSTROOM_STREAM=settings.stream_name,
                        POSTROOM_SUBJECT_PREFIX=settings.subject_prefix, POSTROOM_DATA_DIR=str(data_dir),
                        POSTROOM_API_TOKEN=settings.api_token, POSTROOM_SECRET_KEY=settings.secret_keys,
                        POSTROOM_DISPATCH_GRPC_PORT=str(self.grpc_port), POSTROOM_SMTP_CA_FILE=settings.smtp_ca_file,
                        POSTROOM_SMTP_TIMEOUT="1.5", POSTROOM_DISPATCH_CONCURRENCY=str(CONCURRENCY),
                        POSTROOM_METRICS_PORT=str(self.metrics_port),
                        POSTROOM_LOG_LEVEL="WARNING", POSTROOM_SHUTDOWN_GRACE="1")
        self.process: subprocess.Popen | None = None

    def start(self) -> "DispatchProcess":
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "services.cli.main", "serve", "dispatch"],
                                            env=self.env, cwd=REPO, stdout=log, stderr=log)
        return self

    async def wait_until_serving(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.grpc_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log_file.read_text()[-3000:]
                try:
                    answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if answer.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.aio.AioRpcError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("dispatch did not become ready:\n" + self.log_file.read_text()[-3000:])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def dispatched_count(self) -> float:
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith('postroom_dispatch_outcomes_total{outcome="EmailDispatched"}'))


@pytest.fixture
async def crash_store(settings):
    store = await EventStore.connect(settings)
    yield store
    await store.js.delete_stream(settings.stream_name)
    await store.close()


@pytest.fixture
def fast_sink(test_ca):
    server = start_sink(test_ca)
    yield server
    server.stop()


@pytest.fixture
def processes(tmp_path):
    started: list[DispatchProcess] = []
    yield started
    for process in started:
        process.stop()


async def queue_emails(grpc_port: int) -> set[str]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        ids: set[str] = set()
        for start in range(0, EMAILS, 1000):
            answer = await stub.SendEmailBatch(dispatch_pb2.SendEmailBatchRequest(
                messages=[email(to=f"user{i}@example.org") for i in range(start, start + 1000)]), metadata=METADATA)
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


async def test_kill_9_mid_flight_then_restart_delivers_everything_once(settings, crash_store, fast_sink, processes,
                                                                          tmp_path):
    await save_provider(crash_store, settings, fast_sink, max_send_rate=100_000.0, max_connections=8,
                        max_messages_per_connection=1000)
    first = DispatchProcess(settings, tmp_path / "a", tmp_path / "a.log").start()
    processes.append(first)
    await first.wait_until_serving()
    ids = await queue_emails(first.grpc_port)
    deadline = time.monotonic() + 30
    while len(fast_sink.received) < EMAILS // 5:
        assert time.monotonic() < deadline, "nothing was sent"
        await asyncio.sleep(0.01)
    first.kill()
    sent_before_kill = len(fast_sink.received)
    assert sent_before_kill < EMAILS, "the kill came too late to test anything"

    second = DispatchProcess(settings, tmp_path / "a", tmp_path / "b.log").start()
    processes.append(second)
    await wait_for_events(crash_store, 1 + 2 * EMAILS, timeout=60)

    assert_one_outcome_each(await dispatch_events(crash_store), ids)
    counts = sink_counts(fast_sink)
    assert set(counts) == ids, "every email reached the sink"
    duplicates = sum(counts.values()) - len(counts)
    assert duplicates <= CONCURRENCY, f"{duplicates} duplicates; at most {CONCURRENCY} were in flight"


async def test_two_processes_split_the_work_and_never_send_one_email_twice(settings, crash_store, fast_sink,
                                                                             processes, tmp_path):
    await save_provider(crash_store, settings, fast_sink, max_send_rate=100_000.0, max_connections=8,
                        max_messages_per_connection=1000)
    pair = [DispatchProcess(settings, tmp_path / name, tmp_path / f"{name}.log").start() for name in ("a", "b")]
    processes.extend(pair)
    for process in pair:
        await process.wait_until_serving()
    ids = await queue_emails(pair[0].grpc_port)
    await wait_for_events(crash_store, 1 + 2 * EMAILS, timeout=60)

    assert_one_outcome_each(await dispatch_events(crash_store), ids)
    counts = sink_counts(fast_sink)
    assert set(counts) == ids and max(counts.values()) == 1, "no email was sent by both"
    shares = [process.dispatched_count() for process in pair]
    assert sum(shares) == EMAILS and min(shares) > 0, f"both processes sent: {shares}"
