"""Reading a service's read model in tests, and building the same read model from scratch to compare."""

from __future__ import annotations

from services.core.database import dump_tables
from services.core.projection import ProjectionRunner, replay
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


async def dump_from_scratch(runner: ProjectionRunner) -> dict[str, list[tuple]]:
    """The same projections replayed from sequence 1 as a read model of their own (another model
    name on the same database), so the running one is left alone."""
    scratch = f"{runner.model}_scratch"
    registry = runner.generations.registry
    await replay(list(runner.projections.projections), runner.store, registry, model=scratch)
    engine = await open_live(registry, scratch)
    try:
        return await dump_tables(engine, *runner.projections.metadatas)
    finally:
        await engine.dispose()
