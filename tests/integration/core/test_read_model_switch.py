"""Blue/green read models: a rebuild beside the live one, replicas following it, version bumps."""

from __future__ import annotations

import asyncio
from collections import Counter

from services.core.database import create_engine
from services.core.event_store import EventStore, PendingAppend
from services.core.projection import ProjectionRunner, replay
from services.core.read_model_generations import ReadModelGenerations
from tests.support.counting_projection import counting_projection, counts
from tests.support.events import provider_saved

MODEL = "test_counts"


async def append(store: EventStore, start: int, total: int) -> Counter:
    appended: Counter = Counter()
    batch = [PendingAppend(provider_saved("acme", f"p{i % 40}", name=f"n{i}")) for i in range(start, start + total)]
    for event in batch:
        appended[event.event.aggregate_id] += 1
    outcomes = await store.append_many(batch)
    assert not [o for o in outcomes if isinstance(o, Exception)]
    return appended


async def caught_up(runner: ProjectionRunner, store: EventStore) -> None:
    assert await runner.wait_for(await store.last_sequence(), 30)
    await asyncio.wait_for(runner.caught_up.wait(), 30)


async def test_replicas_sharing_a_read_model_through_a_switch_apply_every_event_exactly_once(read_model_settings):
    """Two replicas serve one read model while `postroom replay` rebuilds it and events keep coming:
    both follow the new generation, the counting projection (which counts every application) shows
    each event applied once in it, and the old generation is dropped."""
    store = await EventStore.connect(read_model_settings)
    engine = create_engine(read_model_settings.database_url_for("test"))
    replicas = [ProjectionRunner(counting_projection(), store, engine, batch_size=50) for _ in range(2)]
    expected = await append(store, 0, 1500)
    for replica in replicas:
        await replica.start()
    first = replicas[0].generation.number

    async def keep_appending() -> Counter:
        added: Counter = Counter()
        for round_ in range(30):
            added += await append(store, 10_000 + round_ * 50, 50)
            await asyncio.sleep(0.05)
        return added

    appending = asyncio.create_task(keep_appending())
    await replay(counting_projection(), store, engine, model=MODEL)
    expected += await appending

    for replica in replicas:
        await caught_up(replica, store)
        assert replica.generation.number == first + 1, "the replica did not switch to the rebuilt generation"
    assert await counts(replicas[0].engine) == expected
    assert await counts(replicas[1].engine) == expected
    generations = ReadModelGenerations(engine, MODEL, holder="test")
    for replica in replicas:
        await replica.stop()
    await generations.sweep()
    assert [g.number for g in await generations.every()] == [first + 1]
    await engine.dispose()
    await store.close()


async def test_a_version_bump_builds_a_new_generation_on_the_next_start(read_model_settings):
    store = await EventStore.connect(read_model_settings)
    engine = create_engine(read_model_settings.database_url_for("test"))
    expected = await append(store, 0, 500)
    runner = ProjectionRunner(counting_projection(version=1), store, engine)
    await runner.start()
    await caught_up(runner, store)
    old = runner.generation
    await runner.stop()

    expected += await append(store, 500, 100)
    runner = ProjectionRunner(counting_projection(version=2), store, engine)
    await runner.start()
    assert runner.start_path == "replayed the stream from sequence 1"
    await asyncio.wait_for(runner.caught_up.wait(), 30)
    assert runner.generation.number == old.number + 1 and runner.generation.version_key == "test.counts@2"
    assert await counts(runner.engine) == expected
    await runner.stop()
    generations = ReadModelGenerations(engine, MODEL, holder="test")
    await generations.sweep()
    assert [(g.number, g.state) for g in await generations.every()] == [(old.number + 1, "live")]

    runner = ProjectionRunner(counting_projection(version=2), store, engine)  # the same version again
    await runner.start()
    assert runner.start_path == "resumed the live read model at sequence 600"
    await runner.stop()
    await engine.dispose()
    await store.close()
