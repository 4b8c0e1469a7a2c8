"""The projection runner: exactly once, in order, across replicas, restarts and NATS outages."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from services.core.database import create_engine
from services.core.event_store import EventStore, PendingAppend
from services.core.nats_server import EmbeddedNatsServer, free_port
from services.core.projection import ProjectionRunner, replay
from services.core.read_model_generations import ReadModelGenerations, open_live
from tests.support.counting_projection import counting_projection, counts
from tests.support.events import provider_saved


async def append_events(store: EventStore, total: int, aggregates: int = 50) -> Counter:
    expected: Counter = Counter()
    batch = []
    for i in range(total):
        aggregate = f"p{i % aggregates}"
        expected[aggregate] += 1
        batch.append(PendingAppend(provider_saved("acme", aggregate, name=f"n{i}")))
    for start in range(0, total, 500):
        outcomes = await store.append_many(batch[start : start + 500])
        assert not [o for o in outcomes if isinstance(o, Exception)]
    return expected


@pytest.fixture
async def store(settings):
    store = await EventStore.connect(settings)
    yield store
    await store.close()


async def run_to_end(runner: ProjectionRunner, store: EventStore, timeout: float = 30) -> None:
    assert await runner.wait_for(await store.last_sequence(), timeout)
    await asyncio.wait_for(runner.caught_up.wait(), timeout)


async def test_every_event_is_applied_once(read_model_settings, store):
    engine = create_engine(read_model_settings.database_url_for("test"))
    projection = counting_projection()
    expected = await append_events(store, 3000)
    runner = ProjectionRunner(projection, store, engine, batch_size=200)
    await runner.start()
    await run_to_end(runner, store)
    assert await counts(runner.engine) == expected
    await runner.stop()
    await engine.dispose()


async def test_replicas_sharing_a_read_model_never_apply_an_event_twice(read_model_settings, store):
    """Every event reaches both replicas (a redelivery for one of them): the compare-and-set
    checkpoint lets exactly one of them apply it."""
    engine = create_engine(read_model_settings.database_url_for("test"))
    projection = counting_projection()
    runners = [ProjectionRunner(projection, store, engine, batch_size=50) for _ in range(2)]
    for runner in runners:
        await runner.start()
    expected = await append_events(store, 2000)
    for runner in runners:
        await run_to_end(runner, store)
    assert runners[0].generation.number == runners[1].generation.number
    assert await counts(runners[0].engine) == expected
    for runner in runners:
        await runner.stop()
    await engine.dispose()


async def test_a_restarted_runner_resumes_from_its_checkpoint(settings, store):
    engine = create_engine(settings.database_url_for("test"))
    projection = counting_projection()
    first = await append_events(store, 500)
    runner = ProjectionRunner(projection, store, engine)
    await runner.start()
    await run_to_end(runner, store)
    await runner.stop()
    second = await append_events(store, 500)
    runner = ProjectionRunner(projection, store, engine)
    await runner.start()
    assert runner.checkpoint == 500
    assert runner.start_path == "resumed the live read model at sequence 500"
    await run_to_end(runner, store)
    assert await counts(runner.engine) == first + second
    await runner.stop()
    await engine.dispose()


async def test_replay_rebuilds_the_same_rows(settings, store):
    engine = create_engine(settings.database_url_for("test"))
    projection = counting_projection()
    expected = await append_events(store, 1000)
    runner = ProjectionRunner(projection, store, engine)
    await runner.start()
    await run_to_end(runner, store)
    first = runner.generation
    await runner.stop()
    seen = []
    assert await replay(projection, store, engine, lambda done, total, _s: seen.append((done, total))) == 1000
    rebuilt = await open_live(engine, "test_counts")
    assert await counts(rebuilt) == expected
    assert seen[-1] == (1000, 1000)
    generations = ReadModelGenerations(engine, "test_counts", holder="test")
    assert (await generations.live()).number == first.number + 1
    assert [g.number for g in await generations.every()] == [first.number + 1]  # the old one is dropped
    await rebuilt.dispose()
    await engine.dispose()


async def test_lag_is_exposed_as_a_metric(settings, store):
    engine = create_engine(settings.database_url_for("test"))
    projection = counting_projection(name="test.lag")
    await append_events(store, 100)
    runner = ProjectionRunner(projection, store, engine)
    await runner.start()
    await run_to_end(runner, store)
    await asyncio.sleep(1.2)
    assert REGISTRY.get_sample_value("postroom_projection_lag_events", {"projection": "test.lag"}) == 0
    assert REGISTRY.get_sample_value("postroom_projection_checkpoint", {"projection": "test.lag"}) == 100
    await runner.stop()
    await engine.dispose()


async def test_nothing_is_lost_when_the_nats_server_restarts_mid_run(settings, tmp_path):
    server = EmbeddedNatsServer(free_port(), tmp_path / "own-nats")
    server.start()
    own = replace(settings, nats_url=server.url)
    store = await EventStore.connect(own)
    engine = create_engine(own.database_url_for("test"))
    projection = counting_projection()
    runner = ProjectionRunner(projection, store, engine, stall_seconds=0.5)
    await runner.start()
    try:
        expected = await append_events(store, 1000)
        server.stop()
        await asyncio.sleep(0.5)
        server.start()
        expected += await _append_when_reconnected(store, 1000)
        await run_to_end(runner, store, timeout=60)
        assert await counts(runner.engine) == expected
    finally:
        await runner.stop()
        await store.close()
        await engine.dispose()
        server.stop()


async def _append_when_reconnected(store: EventStore, total: int) -> Counter:
    for _ in range(100):
        try:
            await store.last_sequence()
            break
        except Exception:
            await asyncio.sleep(0.2)
    return await append_events(store, total)


async def test_a_message_deleted_from_the_stream_does_not_stop_the_read_model(settings, store):
    engine = create_engine(settings.database_url_for("test"))
    expected = await append_events(store, 300)
    await store.js.delete_msg(store.stream, 100)
    runner = ProjectionRunner(counting_projection(), store, engine)
    await runner.start()
    await run_to_end(runner, store)
    assert sum((await counts(runner.engine)).values()) == sum(expected.values()) - 1
    await runner.stop()
    await engine.dispose()


class GatedProjection(type(counting_projection())):
    """Counts, but each write waits for `gate`: what a caller sees while the feed is writing."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.writing = asyncio.Event()

    async def write(self, conn, changes) -> None:
        self.writing.set()
        await self.gate.wait()
        await super().write(conn, changes)


def unread(subject: str) -> bool:
    return subject.rpartition(".")[2].startswith("unread")


async def test_a_caller_need_not_wait_for_the_write_of_events_it_does_not_read(settings, store):
    engine = create_engine(settings.database_url_for("test"))
    projection = GatedProjection()
    runner = ProjectionRunner(projection, store, engine)
    await runner.start()
    try:
        first = await store.append(provider_saved("acme", "unread-1"))
        await asyncio.wait_for(projection.writing.wait(), 10)  # read, and its write held at the gate
        assert await runner.wait_for(first.stream_seq, 1.0, unread_by=unread)
        assert not await runner.wait_for(first.stream_seq, 0.3)
        assert not await runner.wait_for(first.stream_seq, 0.3, unread_by=lambda subject: False)

        read = await store.append(provider_saved("acme", "read-1"))
        later = await store.append(provider_saved("acme", "unread-2"))
        # Read too, behind the write that waits: one the caller reads comes before `later`.
        assert await runner.wait_for(first.stream_seq, 0.1, unread_by=unread)
        assert not await runner.wait_for(later.stream_seq, 0.5, unread_by=unread)

        projection.gate.set()
        assert await runner.wait_for(later.stream_seq, 10)
        assert runner.checkpoint == later.stream_seq > read.stream_seq
        assert await counts(runner.engine) == {"unread-1": 1, "read-1": 1, "unread-2": 1}
    finally:
        projection.gate.set()
        await runner.stop()
        await engine.dispose()
