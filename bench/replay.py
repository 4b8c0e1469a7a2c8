"""Replay throughput: rebuild the config read model from 200,000 events on SQLite.

Baseline, in the same run: a raw nats-py ordered consumer reading the same 200,000 messages.
Ends with one JSON line: {"bench", "rate", "ratio", "p99_ms", "peak_rss_mb", ...}.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nats.js import api as js_api  # noqa: E402

from services.config.projection import ProviderProjection  # noqa: E402
from services.core.database import create_engine  # noqa: E402
from services.core.event_store import EventStore, PendingAppend  # noqa: E402
from services.core.nats_server import EmbeddedNatsServer, free_port  # noqa: E402
from services.core.projection import replay  # noqa: E402
from services.core.settings import Settings  # noqa: E402
from tests.support.events import provider_deleted, provider_saved  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", 200_000))
PROVIDERS = 5_000


async def fill(store: EventStore) -> None:
    chunk = 2_000
    for start in range(0, EVENTS, chunk):
        events = [provider_deleted("acme", f"p{i % PROVIDERS}") if i % 10 == 9
                  else provider_saved("acme", f"p{i % PROVIDERS}", name=f"name-{i}") for i in range(start, start + chunk)]
        outcomes = await store.append_many([PendingAppend(e) for e in events])
        assert not any(isinstance(o, Exception) for o in outcomes)


async def raw_read(store: EventStore) -> float:
    done = asyncio.Event()
    seen = 0

    async def count(_msg) -> None:
        nonlocal seen
        seen += 1
        if seen == EVENTS:
            done.set()

    started = time.perf_counter()
    subscription = await store.js.subscribe(f"{store.prefix}.>", stream=store.stream, cb=count, ordered_consumer=True,
                                            deliver_policy=js_api.DeliverPolicy.ALL)
    await done.wait()
    elapsed = time.perf_counter() - started
    await subscription.unsubscribe()
    return EVENTS / elapsed


class TimedProjection(ProviderProjection):
    """The real projection, with each batch's apply time recorded."""

    def __init__(self) -> None:
        self.batch_ms: list[float] = []

    async def apply(self, conn, events) -> None:
        started = time.perf_counter()
        await super().apply(conn, events)
        self.batch_ms.append((time.perf_counter() - started) * 1000)


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        server = EmbeddedNatsServer(free_port(), Path(scratch) / "nats")
        server.start()
        settings = Settings(nats_url=server.url, data_dir=Path(scratch))
        store = await EventStore.connect(settings)
        try:
            await fill(store)
            raw_rate = await raw_read(store)
            engine = create_engine(f"sqlite+aiosqlite:///{Path(scratch) / 'config.db'}")
            projection = TimedProjection()
            started = time.perf_counter()
            await replay(projection, store, engine)
            replay_rate = EVENTS / (time.perf_counter() - started)
            await engine.dispose()
        finally:
            await store.close()
            server.stop()
    p99 = statistics.quantiles(projection.batch_ms, n=100)[98] if len(projection.batch_ms) > 1 else 0.0
    print(f"raw nats-py read: {raw_rate:,.0f} msg/s; replay: {replay_rate:,.0f} events/s", file=sys.stderr)
    print(json.dumps({"bench": "replay", "rate": round(replay_rate), "ratio": round(replay_rate / raw_rate, 3),
                      "p99_ms": round(p99, 2), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "baseline_rate": round(raw_rate), "events": EVENTS, "p99_of": "batch apply"}))


if __name__ == "__main__":
    asyncio.run(main())
