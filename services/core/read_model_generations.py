"""Generations of a read model, so a new one can be built beside the one being served.

Each generation of a service's read model lives apart: in its own PostgreSQL schema, or its own
SQLite file beside the service's database file, named for the model, its version and its number
(`dispatch_v3f2a9c10_g4`). A small registry on the service's database URL says which generation
is live, which are being built and which are retired, so every process of the service and
`postroom replay` agree:

- `building` -> `live` is a compare-and-set (`promote`): of two builders, one wins, and the
  generation it replaces becomes `retired` in the same transaction;
- every process holds a lease on each generation it reads or writes, renewed every few seconds;
  a retired generation, or a build a newer live one superseded, is dropped (`sweep`) once nobody
  holds it, so a replica that has not switched yet never loses its tables; a build that nobody
  finished is carried on by the next process of its version (`resumable`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.core import database

log = logging.getLogger(__name__)

BUILDING, LIVE, RETIRED = "building", "live", "retired"
LEASE_SECONDS = 15.0  # a lease not renewed for this long belongs to a process that is gone
# (wall-clock time: replicas' clocks need to agree within a few seconds)
CREATE_ATTEMPTS = 5

registry_metadata = MetaData()

generations = Table(
    "read_model_generations",
    registry_metadata,
    Column("model", String(64), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("version_key", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("changed_at", Float, nullable=False),
)

leases = Table(
    "read_model_leases",
    registry_metadata,
    Column("model", String(64), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(64), primary_key=True),
    Column("renewed_at", Float, nullable=False),
)


def version_key(versions: dict[str, int]) -> str:
    """What identifies a read model's shape: each projection's name and declared version."""
    return ",".join(f"{name}@{version}" for name, version in sorted(versions.items()))


def version_digest(key: str) -> str:
    """A short stand-in for a version key, fit for a schema, file or object name."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Generation:
    model: str
    number: int
    version_key: str
    state: str

    @property
    def storage_name(self) -> str:
        """The PostgreSQL schema, or the SQLite file's stem, holding this generation's tables."""
        return f"{self.model}_v{version_digest(self.version_key)}_g{self.number}"


class ReadModelGenerations:
    """The registry and the storage of one read model's generations."""

    def __init__(self, registry: AsyncEngine, model: str, holder: str) -> None:
        self.registry = registry
        self.model = model
        self.holder = holder

    async def prepare(self) -> None:
        async with self.registry.begin() as conn:
            await conn.run_sync(registry_metadata.create_all)

    # ---- the registry ----

    async def live(self) -> Generation | None:
        found = await self._select(generations.c.state == LIVE)
        return found[0] if found else None

    async def resumable(self, key: str, live: Generation | None) -> Generation | None:
        """The newest generation of this version still being built (after `live`), by another
        process or by one that stopped before it was done: its rows and checkpoint are sound, so
        it is carried on."""
        conditions = [generations.c.state == BUILDING, generations.c.version_key == key]
        if live is not None:
            conditions.append(generations.c.generation > live.number)
        found = await self._select(*conditions)
        return found[-1] if found else None

    async def create(self, key: str) -> Generation:
        """A new generation, being built, already leased by this process."""
        for _ in range(CREATE_ATTEMPTS):
            try:
                async with self.registry.begin() as conn:
                    newest = await conn.scalar(
                        select(func.max(generations.c.generation)).where(generations.c.model == self.model)
                    )
                    number = (newest or 0) + 1
                    now = time.time()
                    await conn.execute(
                        generations.insert().values(
                            model=self.model, generation=number, version_key=key, state=BUILDING, changed_at=now
                        )
                    )
                    await conn.execute(
                        leases.insert().values(model=self.model, generation=number, holder=self.holder, renewed_at=now)
                    )
                return Generation(self.model, number, key, BUILDING)
            except (IntegrityError, OperationalError):
                continue  # another process took that number first: take the next one
        raise RuntimeError(f"could not register a new generation of {self.model}")

    async def promote(self, generation: Generation) -> bool:
        """Make `generation` live and retire the one it replaces, atomically; False when it is no
        longer being built (another process promoted it, or it was dropped) or a newer generation
        is live already (it superseded this build)."""
        async with self.registry.begin() as conn:
            # Two promotions must not both leave a generation live: on PostgreSQL the model's rows
            # are locked first; SQLite takes its write lock with the update, before the check.
            if not database.is_sqlite(self.registry):
                await conn.execute(
                    select(generations.c.generation).where(generations.c.model == self.model).with_for_update()
                )
            promoted = await conn.execute(
                update(generations)
                .where(
                    generations.c.model == self.model,
                    generations.c.generation == generation.number,
                    generations.c.state == BUILDING,
                )
                .values(state=LIVE, changed_at=time.time())
            )
            newer = await conn.scalar(
                select(func.count())
                .select_from(generations)
                .where(
                    generations.c.model == self.model,
                    generations.c.state == LIVE,
                    generations.c.generation > generation.number,
                )
            )
            if promoted.rowcount != 1 or newer:
                await conn.rollback()
                return False
            await conn.execute(
                update(generations)
                .where(
                    generations.c.model == self.model,
                    generations.c.state == LIVE,
                    generations.c.generation != generation.number,
                )
                .values(state=RETIRED, changed_at=time.time())
            )
        return True

    async def hold(self, *held: Generation) -> None:
        """Renew this process's leases."""
        now = time.time()
        async with self.registry.begin() as conn:
            for generation in held:
                renewed = await conn.execute(
                    update(leases)
                    .where(
                        leases.c.model == self.model,
                        leases.c.generation == generation.number,
                        leases.c.holder == self.holder,
                    )
                    .values(renewed_at=now)
                )
                if renewed.rowcount == 0:
                    await conn.execute(
                        leases.insert().values(
                            model=self.model, generation=generation.number, holder=self.holder, renewed_at=now
                        )
                    )

    async def release(self, generation: Generation) -> None:
        async with self.registry.begin() as conn:
            await conn.execute(
                delete(leases).where(
                    leases.c.model == self.model,
                    leases.c.generation == generation.number,
                    leases.c.holder == self.holder,
                )
            )

    async def readers(self, generation: Generation) -> int:
        """How many processes hold a fresh lease on `generation`."""
        async with self.registry.connect() as conn:
            return int(
                await conn.scalar(
                    select(func.count())
                    .select_from(leases)
                    .where(
                        leases.c.model == self.model,
                        leases.c.generation == generation.number,
                        leases.c.renewed_at > time.time() - LEASE_SECONDS,
                    )
                )
                or 0
            )

    async def sweep(self) -> list[Generation]:
        """Drop the generations no process holds any more: the retired ones, and builds that a
        newer live generation has superseded."""
        fresh = time.time() - LEASE_SECONDS
        held = select(leases.c.generation).where(leases.c.model == self.model, leases.c.renewed_at > fresh)
        live = await self.live()
        superseded = generations.c.state == RETIRED
        if live is not None:
            superseded = or_(
                superseded,
                and_(
                    generations.c.state == BUILDING,
                    or_(generations.c.generation < live.number, generations.c.version_key == live.version_key),
                ),
            )
        unheld = await self._select(superseded, generations.c.generation.not_in(held))
        async with self.registry.begin() as conn:  # the leases of processes that are gone
            await conn.execute(delete(leases).where(leases.c.model == self.model, leases.c.renewed_at <= fresh))
        for generation in unheld:
            await self.drop_storage(generation)
            async with self.registry.begin() as conn:
                await conn.execute(
                    delete(leases).where(leases.c.model == self.model, leases.c.generation == generation.number)
                )
                await conn.execute(
                    delete(generations).where(
                        generations.c.model == self.model, generations.c.generation == generation.number
                    )
                )
            log.info(
                "read model generation dropped",
                extra={"model": self.model, "generation": generation.number, "state": generation.state},
            )
        return unheld

    async def every(self) -> list[Generation]:
        """Every generation of this model in the registry, oldest first."""
        return await self._select()

    async def drop_every(self) -> None:
        """Drop every generation of this model, live or not (a benchmark cleaning up after itself)."""
        for generation in await self._select():
            await self.drop_storage(generation)
        async with self.registry.begin() as conn:
            await conn.execute(delete(leases).where(leases.c.model == self.model))
            await conn.execute(delete(generations).where(generations.c.model == self.model))

    async def _select(self, *conditions) -> list[Generation]:
        query = select(generations).where(generations.c.model == self.model, *conditions)
        async with self.registry.connect() as conn:
            return [
                _generation(row) for row in (await conn.execute(query.order_by(generations.c.generation))).mappings()
            ]

    # ---- the storage ----

    def sqlite_file(self, generation: Generation) -> Path | None:
        """The SQLite file of `generation`, beside the service's own database file and named after
        it (`dispatch.db` -> `dispatch.dispatch_v3f2a9c10_g4.db`)."""
        if not database.is_sqlite(self.registry):
            return None
        base = Path(self.registry.url.database or "read-model.db")
        return base.with_name(f"{base.stem}.{generation.storage_name}.db")

    async def open(self, generation: Generation) -> AsyncEngine:
        """An engine on `generation`'s tables, creating its schema on PostgreSQL."""
        path = self.sqlite_file(generation)
        if path is not None:
            return database.create_engine(
                self.registry.url.set(database=str(path)).render_as_string(hide_password=False)
            )
        async with self.registry.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{generation.storage_name}"'))
        return database.create_engine(
            self.registry.url.render_as_string(hide_password=False), schema=generation.storage_name
        )

    async def drop_storage(self, generation: Generation) -> None:
        path = self.sqlite_file(generation)
        if path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            return
        async with self.registry.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{generation.storage_name}" CASCADE'))


def _generation(row) -> Generation:
    return Generation(row["model"], int(row["generation"]), row["version_key"], row["state"])


async def open_live(registry: AsyncEngine, model: str) -> AsyncEngine | None:
    """An engine on the live generation of `model` (for inspection: tests, tools), or None."""
    generations_of_model = ReadModelGenerations(registry, model, holder="inspector")
    await generations_of_model.prepare()
    live = await generations_of_model.live()
    return await generations_of_model.open(live) if live else None
