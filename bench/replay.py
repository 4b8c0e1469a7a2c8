"""Replay throughput and memory: rebuild the config read model from a million events.

Each measurement runs in a process of its own, so peak RSS is that of the replay alone:
- baseline: a raw nats-py ordered consumer reading the same stream (before and after the replay;
  the ratio is to their mean);
- `replay` (what `postroom replay config` runs) on SQLite, and on PostgreSQL when
  POSTROOM_TEST_DATABASE_URL is set;
- a new config pod's time to SERVING from sequence 1, and from the snapshot the first pod saved.
Ends with one JSON line: {"bench", "rate", "ratio", "p99_ms", "peak_rss_mb", ...}.
BENCH_EVENTS changes the count.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js import api as js_api

from bench.support.loop import run as run_on_service_loop
from bench.support.profiling import Profile
from services.config.projection import ProviderProjection
from services.core.database import create_engine
from services.core.event_store import EventStore, PendingAppend
from services.core.nats_server import EmbeddedNatsServer, free_port
from services.core.projection import replay
from services.core.read_model_generations import ReadModelGenerations
from services.core.secret_box import generate_key_spec
from services.core.settings import Settings
from tests.support.events import provider_deleted, provider_saved

EVENTS = int(os.environ.get("BENCH_EVENTS", 1_000_000))
PROVIDERS = 5_000
POSTGRES_URL = os.environ.get("POSTROOM_TEST_DATABASE_URL", "")
BENCH_MODEL = "bench_replay"
TOKEN = "bench-token"
TARGET_RATIO, TARGET_RSS_MB = 0.6, 150


# ---- the measured processes ----


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def raw_read(settings: Settings) -> dict:
    store = await EventStore.connect(settings)
    done, seen = asyncio.Event(), 0

    async def count(_msg) -> None:
        nonlocal seen
        seen += 1
        if seen == EVENTS:
            done.set()

    started = time.perf_counter()
    subscription = await store.js.subscribe(
        f"{store.prefix}.>",
        stream=store.stream,
        cb=count,
        ordered_consumer=True,
        deliver_policy=js_api.DeliverPolicy.ALL,
    )
    await done.wait()
    elapsed = time.perf_counter() - started
    await subscription.unsubscribe()
    await store.close()
    return {"rate": EVENTS / elapsed, "peak_rss_mb": peak_rss_mb()}


class TimedProjection(ProviderProjection):
    """The real projection, with each batch's write timed."""

    batch_ms: list[float] = []

    async def write(self, conn, changes) -> None:
        started = time.perf_counter()
        await super().write(conn, changes)
        self.batch_ms.append((time.perf_counter() - started) * 1000)


async def timed_replay(settings: Settings, url: str) -> dict:
    store = await EventStore.connect(settings)
    engine = create_engine(url)
    started = time.perf_counter()
    events = await replay(TimedProjection(), store, engine, model=BENCH_MODEL)
    elapsed = time.perf_counter() - started
    await engine.dispose()
    await store.close()
    batches = TimedProjection.batch_ms
    p99 = statistics.quantiles(batches, n=100)[98] if len(batches) > 1 else (batches[0] if batches else 0.0)
    return {"rate": events / elapsed, "peak_rss_mb": peak_rss_mb(), "p99_ms": p99, "batches": len(batches)}


def child_main(mode: str, settings_json: str, url: str) -> None:
    settings = Settings(**json.loads(settings_json))
    result = run_on_service_loop(raw_read(settings) if mode == "raw" else timed_replay(settings, url))
    print(json.dumps(result))


def in_child(mode: str, settings: Settings, url: str = "", profile_as: str = "") -> dict:
    """The run in a process of its own (its peak RSS its own), profiled as `profile_as` if named."""
    fields = {
        "nats_url": settings.nats_url,
        "stream_name": settings.stream_name,
        "subject_prefix": settings.subject_prefix,
    }
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, json.dumps(fields), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    profile = Profile(profile_as, child.pid).start() if profile_as else None
    stdout, stderr = child.communicate(timeout=3600)
    if profile is not None:
        profile.stop()
    if child.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{stderr[-3000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


# ---- a new pod, from sequence 1 and from a snapshot ----


def start_pod(settings: Settings, data_dir: Path, port: int) -> subprocess.Popen:
    env = dict(
        os.environ,
        POSTROOM_NATS_URL=settings.nats_url,
        POSTROOM_STREAM=settings.stream_name,
        POSTROOM_SUBJECT_PREFIX=settings.subject_prefix,
        POSTROOM_DATA_DIR=str(data_dir),
        POSTROOM_API_TOKEN=TOKEN,
        POSTROOM_SECRET_KEY=generate_key_spec("k1"),
        POSTROOM_CONFIG_GRPC_PORT=str(port),
        POSTROOM_SNAPSHOT_INTERVAL="1",
        POSTROOM_LOG_LEVEL="INFO",
    )
    env.pop("POSTROOM_DATABASE_URL", None)
    log = open(data_dir.with_suffix(".log"), "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "serve", "config"], env=env, cwd=ROOT, stdout=log, stderr=log
    )


async def seconds_to_serving(process: subprocess.Popen, port: int, started: float) -> float:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while process.poll() is None:
            try:
                if (
                    await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                ).status == health_pb2.HealthCheckResponse.SERVING:
                    return time.perf_counter() - started
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit(f"the config pod exited with {process.returncode}")


async def snapshot_checkpoint(store: EventStore) -> int:
    try:
        bucket = await store.js.object_store(f"{store.stream}_snapshots")
        infos = await bucket.list()
    except Exception:
        return 0
    return max((json.loads(info.description or "{}").get("checkpoint", 0) for info in infos), default=0)


async def pod_start_times(settings: Settings, scratch: Path) -> tuple[float, float]:
    store = await EventStore.connect(settings)
    head = await store.last_sequence()
    timings = []
    for name in ("from-sequence-1", "from-snapshot"):
        data_dir, port = scratch / name, free_port()
        data_dir.mkdir()
        started = time.perf_counter()
        process = start_pod(settings, data_dir, port)
        try:
            timings.append(await seconds_to_serving(process, port, started))
            while await snapshot_checkpoint(store) < head:
                await asyncio.sleep(0.2)
        finally:
            process.terminate()
            process.wait(30)
    log = (scratch / "from-snapshot.log").read_text()
    if "restored a snapshot" not in log:
        raise SystemExit("the second pod did not start from the snapshot:\n" + log[-2000:])
    await store.close()
    return timings[0], timings[1]


# ---- the run ----


async def fill(store: EventStore) -> None:
    chunk = 2_000
    for start in range(0, EVENTS, chunk):
        events = [
            provider_deleted("acme", f"p{i % PROVIDERS}")
            if i % 10 == 9
            else provider_saved("acme", f"p{i % PROVIDERS}", name=f"name-{i}")
            for i in range(start, min(start + chunk, EVENTS))
        ]
        outcomes = await store.append_many([PendingAppend(e) for e in events])
        assert not any(isinstance(o, Exception) for o in outcomes)


async def drop_bench_model(url: str) -> None:
    engine = create_engine(url)
    generations = ReadModelGenerations(engine, BENCH_MODEL, holder="bench")
    await generations.prepare()
    await generations.drop_every()
    await engine.dispose()


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        server = EmbeddedNatsServer(free_port(), scratch / "nats")
        server.start()
        settings = Settings(nats_url=server.url, data_dir=scratch)
        try:
            store = await EventStore.connect(settings)
            await fill(store)
            await store.close()
            raw_before = in_child("raw", settings)
            sqlite = in_child("replay", settings, f"sqlite+aiosqlite:///{scratch / 'bench.db'}", "replay-sqlite")
            raw_after = in_child("raw", settings)
            postgres = None
            if POSTGRES_URL:
                await drop_bench_model(POSTGRES_URL)
                postgres = in_child("replay", settings, POSTGRES_URL, "replay-postgres")
                await drop_bench_model(POSTGRES_URL)
            from_start, from_snapshot = await pod_start_times(settings, scratch)
        finally:
            server.stop()
    report(raw_before, raw_after, sqlite, postgres, from_start, from_snapshot)


def report(
    raw_before: dict, raw_after: dict, sqlite: dict, postgres: dict | None, from_start: float, from_snapshot: float
) -> None:
    raw_rate = (raw_before["rate"] + raw_after["rate"]) / 2
    lines = [
        f"{EVENTS:,} events",
        f"raw nats-py read: {raw_before['rate']:,.0f} / {raw_after['rate']:,.0f} msg/s (before / after), "
        f"peak RSS {raw_before['peak_rss_mb']:.0f} MB",
        f"replay on SQLite: {sqlite['rate']:,.0f} events/s, ratio {sqlite['rate'] / raw_rate:.2f} "
        f"(target {TARGET_RATIO}), peak RSS {sqlite['peak_rss_mb']:.0f} MB (target {TARGET_RSS_MB}), "
        f"p99 batch write {sqlite['p99_ms']:.0f} ms over {sqlite['batches']} batches",
    ]
    if postgres:
        lines.append(
            f"replay on PostgreSQL: {postgres['rate']:,.0f} events/s, ratio {postgres['rate'] / raw_rate:.2f}, "
            f"peak RSS {postgres['peak_rss_mb']:.0f} MB, p99 batch write {postgres['p99_ms']:.0f} ms"
        )
    lines.append(
        f"a new pod's time to SERVING: {from_start:.1f} s from sequence 1, {from_snapshot:.1f} s from a snapshot"
    )
    print("\n".join(lines), file=sys.stderr)
    result = {
        "bench": "replay",
        "rate": round(sqlite["rate"]),
        "ratio": round(sqlite["rate"] / raw_rate, 3),
        "p99_ms": round(sqlite["p99_ms"], 2),
        "peak_rss_mb": round(sqlite["peak_rss_mb"], 1),
        "baseline_rate": round(raw_rate),
        "events": EVENTS,
        "p99_of": "batch write",
        "ready_from_sequence_1_s": round(from_start, 2),
        "ready_from_snapshot_s": round(from_snapshot, 2),
    }
    if postgres:
        result.update(
            postgres_rate=round(postgres["rate"]),
            postgres_ratio=round(postgres["rate"] / raw_rate, 3),
            postgres_peak_rss_mb=round(postgres["peak_rss_mb"], 1),
        )
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(*sys.argv[2:5])
    else:
        run_on_service_loop(main())
