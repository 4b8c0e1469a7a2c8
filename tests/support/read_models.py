"""Reading a service's read model in tests, and building the same read model from scratch to compare."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from services.core.database import dump_tables, read_checkpoint
from services.core.event_store import EventStore
from services.core.projection import Projection, ProjectionRunner, replay
from services.core.read_model_generations import open_live
from services.core.runtime import RunningService


def runner_of(service: RunningService) -> ProjectionRunner:
    (runner,) = service.components.projections
    return runner


async def dump_runner(runner: ProjectionRunner) -> dict[str, list[tuple]]:
    """Every row of the generation the runner serves from."""
    return await dump_tables(runner.engine, *runner.projections.metadatas)


async def dump_service(service: RunningService) -> dict[str, list[tuple]]:
    return await dump_runner(runner_of(service))


async def dump_live(registry: AsyncEngine, model: str, projections: Sequence[Projection]) -> dict[str, list[tuple]]:
    """Every row of the live generation of `model` (which may be served by another process)."""
    engine = await open_live(registry, model)
    try:
        return await dump_tables(engine, *(projection.metadata for projection in projections))
    finally:
        await engine.dispose()


async def dump_rebuilt(
    projections: Sequence[Projection], store: EventStore, registry: AsyncEngine, model: str
) -> dict[str, list[tuple]]:
    """The projections replayed from sequence 1 as a read model of their own (`<model>_scratch`,
    on the same database), so the one being served is left alone."""
    scratch = f"{model}_scratch"
    await replay(list(projections), store, registry, model=scratch)
    return await dump_live(registry, scratch, projections)


async def dump_from_scratch(runner: ProjectionRunner) -> dict[str, list[tuple]]:
    return await dump_rebuilt(runner.projections.projections, runner.store, runner.generations.registry, runner.model)


async def wait_until_live_includes(registry: AsyncEngine, model: str, stream_seq: int, timeout: float = 20.0) -> None:
    """Until the live generation of `model` (served by another process) has applied `stream_seq`."""
    engine = await open_live(registry, model)
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with engine.connect() as conn:
                    if await read_checkpoint(conn, model) >= stream_seq:
                        return
                await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def assert_live_equals_rebuilt(
    registry: AsyncEngine, model: str, projections: Sequence[Projection], store: EventStore
) -> None:
    """Once the live generation of `model` has applied the whole stream, it equals a build from
    scratch, row for row."""
    await wait_until_live_includes(registry, model, await store.last_sequence())
    assert await dump_live(registry, model, projections) == await dump_rebuilt(projections, store, registry, model)
