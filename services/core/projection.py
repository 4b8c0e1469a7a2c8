"""Projections, and the runner that keeps a service's read model up to date with the stream.

A projection turns events into read-model rows. It declares its name, its schema version, its
tables, and one handler per event payload type it reads:

    class ProviderProjection(Projection):
        name = "config.providers"
        version = 1
        metadata = metadata

        def new_changes(self) -> ProviderChanges: ...      # one batch's changes, in memory

        @handles(events_pb2.ProviderSaved)
        def saved(self, changes, stored, saved): ...       # pure: collects, never writes

        async def write(self, conn, changes) -> None: ...  # one transaction with the checkpoint

A projection must be deterministic: times come from events, never the clock; no side effects.

One `ProjectionRunner` feeds every projection of a service in one pass over the stream, with one
checkpoint, so `wait_for(seq)` means every projection includes `seq`. The read model is versioned
and rebuilt beside the live one (`read_model_generations.py`): at start the runner resumes the
live generation of its declared versions, or builds a new one (from a snapshot on SQLite, see
`snapshots.py`) and switches to it once it has caught up; a generation `postroom replay` builds
while the service runs is followed and switched to the same way, without a pause in serving.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.core import database
from services.core.errors import Unavailable
from services.core.event_routes import DeclarationError, EventRoutes
from services.core.event_store import EventStore
from services.core.events import Event, StoredEvent
from services.core.generation_feed import GenerationFeed, wait_until
from services.core.live_engine import LiveEngine
from services.core.metrics import PROJECTION_CHECKPOINT, PROJECTION_LAG
from services.core.read_model_generations import Generation, ReadModelGenerations, version_key
from services.core.snapshots import Snapshots
from services.core.tasks import cancel_all

log = logging.getLogger(__name__)

# Most events in one transaction. Far behind (a rebuild, a new pod) batches are this large, and
# a projection coalesces what they change; once caught up they hold what arrived meanwhile.
BATCH_SIZE = 20000
WATCH_SECONDS = 0.5  # how often a runner renews its leases and looks for a newer generation
SWITCH_DISTANCE = 2000  # events a new generation may still lack when the switch starts
SWITCH_SECONDS = 5.0  # how long the live generation may stand still for the switch
READ_YOUR_WRITES_SECONDS = 5.0  # how long a request waits for the read model to hold an event it follows


class Projection:
    """Base class of every projection; see the module docstring."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    metadata: ClassVar[MetaData]

    def new_changes(self) -> Any:
        raise NotImplementedError

    async def write(self, conn: AsyncConnection, changes: Any) -> None:
        raise NotImplementedError


class ProjectionSet:
    """The projections one pass over the stream feeds, and which handlers each event type reaches."""

    def __init__(self, projections: Sequence[Projection]) -> None:
        if not projections:
            raise DeclarationError("a read model needs at least one projection")
        names = [projection.name for projection in projections]
        if len(set(names)) != len(names):
            raise DeclarationError(f"two projections share a name: {sorted(names)}")
        self.projections = tuple(projections)
        routes: dict[str, list[tuple[Callable[..., None], int]]] = {}
        for index, projection in enumerate(projections):
            _require_version(projection)
            for kind, handler in EventRoutes.of(projection, arguments=3).handlers.items():
                routes.setdefault(kind, []).append((handler, index))
        self._routes = {kind: tuple(targets) for kind, targets in routes.items()}
        self.versions = {projection.name: projection.version for projection in projections}
        self.version_key = version_key(self.versions)

    @property
    def kinds(self) -> frozenset[str]:
        """The event payloads this read model reads: its filter, derived from the declarations."""
        return frozenset(self._routes)

    @property
    def metadatas(self) -> list[MetaData]:
        return [projection.metadata for projection in self.projections]

    def new_changes(self) -> list[Any]:
        return [projection.new_changes() for projection in self.projections]

    def collect(self, changes: list[Any], seq: int, subject: str, event: Event) -> bool:
        """Hand one event to the handlers that declared its type; False when none did."""
        kind = event.WhichOneof("payload")
        targets = self._routes.get(kind) if kind else None
        if not targets:
            return False
        stored, payload = StoredEvent(seq, subject, event), getattr(event, kind)
        for handler, index in targets:
            handler(changes[index], stored, payload)
        return True

    async def write(self, conn: AsyncConnection, changes: list[Any]) -> None:
        for projection, collected in zip(self.projections, changes):
            await projection.write(conn, collected)

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None:
        """Collect and write `events` as one batch (the runner does the same, checkpoint aside)."""
        changes = self.new_changes()
        for stored in events:
            self.collect(changes, stored.stream_seq, stored.subject, stored.event)
        await self.write(conn, changes)

    async def create_tables(self, engine: AsyncEngine) -> None:
        for metadata in self.metadatas:
            await database.create_tables(engine, metadata)
        async with engine.begin() as conn:
            await database.write_versions(conn, self.versions)


def _require_version(projection: Projection) -> None:
    version = getattr(projection, "version", None)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DeclarationError(
            f"{projection.name} must declare its schema version as a whole number >= 1, not {version!r}"
        )


def model_name(name: str) -> str:
    """A name fit for a schema or a file: lower case letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:40]


class ProjectionRunner:
    """Keeps one read model (the projections of one service) up to date, across generations.

    `checkpoint`, `wait_for` and `engine` always concern the generation this process serves
    from; `engine` follows a switch by itself (see LiveEngine)."""

    def __init__(
        self,
        projections: Projection | Sequence[Projection],
        store: EventStore,
        engine: AsyncEngine,
        *,
        model: str | None = None,
        snapshots: Snapshots | None = None,
        rebuild: bool = False,
        batch_size: int = BATCH_SIZE,
        stall_seconds: float = 2.0,
    ) -> None:
        listed = [projections] if isinstance(projections, Projection) else list(projections)
        self.projections = ProjectionSet(listed)
        self.model = model_name(model or listed[0].name)
        self.store = store
        self.generations = ReadModelGenerations(engine, self.model, holder=uuid.uuid4().hex)
        self.engine = LiveEngine()
        self.caught_up = asyncio.Event()
        self.start_path = ""  # how this process got its read model, for readiness
        self.batch_size = batch_size
        self.stall_seconds = stall_seconds
        self.replaced: Generation | None = None  # what the last switch retired
        self._snapshots = snapshots
        self._rebuild = rebuild
        self._current: GenerationFeed | None = None
        self._next: GenerationFeed | None = None  # a newer live generation, caught up before the switch
        self._promoted = False  # the current generation is the registry's live one
        self._target = 0
        self._progress = asyncio.Condition()
        self._wake = asyncio.Event()
        # Held while the registry is looked after: stopping waits for a round to end, since a
        # task cancelled inside a SQLite transaction can leave its write lock behind for a while.
        self._upkeep = asyncio.Lock()
        self._warned_of: int | None = None
        self._tasks: list[asyncio.Task] = []

    @classmethod
    def for_service(
        cls,
        name: str,
        projections: Sequence[Projection],
        store: EventStore,
        engine: AsyncEngine,
        snapshot_interval: float,
    ) -> "ProjectionRunner":
        return cls(projections, store, engine, model=name, snapshots=Snapshots(store, snapshot_interval))

    @property
    def checkpoint(self) -> int:
        return self._current.checkpoint if self._current else 0

    @property
    def target(self) -> int:
        """The head of the stream when this runner started: caught up once the checkpoint is there."""
        return self._target

    @property
    def generation(self) -> Generation | None:
        return self._current.generation if self._current else None

    # ---- lifecycle ----

    async def start(self) -> None:
        await self.generations.prepare()
        await self.generations.sweep()
        self._current = (None if self._rebuild else await self._live_of_my_versions()) or await self._new_generation()
        self.engine.switch_to(self._current.engine, self._current.generation)
        self._target = await self.store.last_sequence()
        self._current.start()
        self._tasks = [asyncio.create_task(self._keep_watch(), name=f"read-model-{self.model}")]
        await self._progressed(self._current)

    async def stop(self) -> None:
        async with self._upkeep:  # never cancelled inside a registry transaction
            await cancel_all(self._tasks)
        self._tasks = []
        for feed in (self._next, self._current):
            if feed is not None:
                await feed.stop()
                try:
                    await self.generations.release(feed.generation)
                except Exception:
                    log.warning("lease not released", extra={"model": self.model}, exc_info=True)
                await feed.engine.dispose()
        self._current = self._next = None
        if self._snapshots is not None:
            await self._snapshots.stop()

    async def wait_for(self, stream_seq: int, timeout: float, unread_by: Callable[[str], bool] | None = None) -> bool:
        """Read-your-writes: wait until the read model includes `stream_seq`. With `unread_by`,
        events of the subjects it names (ones the caller does not read) need only be read, not
        yet written (GenerationFeed.has_read)."""
        if self.checkpoint >= stream_seq:
            return True  # the usual case on a hot path: no timer, no lock

        def reached() -> bool:
            feed = self._current
            if unread_by is None or feed is None:
                return self.checkpoint >= stream_seq
            return feed.has_read(stream_seq, unread_by)

        return reached() or await wait_until(self._progress, reached, timeout)

    async def catch_up_to(self, stream_seq: int) -> None:
        """Read-your-writes for a request that reads the read model next: wait until it includes
        `stream_seq`, or answer UNAVAILABLE, to be retried. A read model still catching up (a new
        pod, a rebuild, a burst) must not answer as if the event were not in the log."""
        if not await self.wait_for(stream_seq, READ_YOUR_WRITES_SECONDS):
            raise Unavailable(
                f"the {self.model} read model is catching up (at event {self.checkpoint} of {stream_seq}); retry shortly"
            )

    def describe_start(self) -> str:
        state = "ready" if self.caught_up.is_set() else f"catching up ({self.checkpoint}/{self._target})"
        return f"{self.model}: {state}; {self.start_path}"

    # ---- generations ----

    async def _feed(self, generation: Generation) -> GenerationFeed:
        engine = await self.generations.open(generation)
        feed = GenerationFeed(
            generation,
            engine,
            self.projections,
            self.store,
            self._progressed,
            batch_size=self.batch_size,
            stall_seconds=self.stall_seconds,
        )
        await feed.prepare()
        return feed

    async def _live_of_my_versions(self) -> GenerationFeed | None:
        live = await self.generations.live()
        if live is None or live.version_key != self.projections.version_key:
            return None
        feed = await self._feed(live)
        self._promoted = True
        self.start_path = f"resumed the live read model at sequence {feed.checkpoint}"
        return feed

    async def _new_generation(self) -> GenerationFeed:
        """A generation of the declared versions that is not live yet: one still being built (by a
        replica, or by a process that stopped), or a new one, from a snapshot where there is one."""
        key = self.projections.version_key
        unfinished = None if self._rebuild else await self.generations.resumable(key, await self.generations.live())
        if unfinished is None and not self._rebuild and (live := await self._live_of_my_versions()):
            return live  # a replica finished it a moment ago
        if unfinished is not None:
            await self.generations.hold(unfinished)
            feed = await self._feed(unfinished)
            self.start_path = f"carried on building generation {unfinished.number} from sequence {feed.checkpoint}"
            return feed
        generation = await self.generations.create(key)
        restored = None
        if self._snapshots is not None and not self._rebuild:
            restored = await self._snapshots.restore(self.generations, generation, self.projections.versions)
        feed = await self._feed(generation)
        if restored is not None:
            self.start_path = f"restored a snapshot at sequence {restored}, then replayed the tail"
        else:
            self.start_path = "replayed the stream from sequence 1"
        log.info(
            "building a new read model generation",
            extra={"model": self.model, "generation": generation.number, "versions": key, "path": self.start_path},
        )
        return feed

    async def _progressed(self, feed: GenerationFeed) -> None:
        """Called by a feed after each batch it applied."""
        if feed is self._current:
            async with self._progress:
                self._progress.notify_all()
            for name in self.projections.versions:
                PROJECTION_CHECKPOINT.labels(name).set(feed.checkpoint)
            if not self.caught_up.is_set() and feed.checkpoint >= self._target:
                if self._promoted:
                    self._ready()
                else:
                    self._wake.set()  # the watcher promotes it
        elif (
            feed is self._next
            and self._current is not None
            and feed.checkpoint + SWITCH_DISTANCE >= self._current.checkpoint
        ):
            self._wake.set()  # the watcher switches to it

    def _ready(self) -> None:
        assert self.generation is not None  # called for the current feed; stop() clears it after stopping the feeds
        self.caught_up.set()
        log.info(
            "read model ready",
            extra={
                "model": self.model,
                "generation": self.generation.number,
                "checkpoint": self.checkpoint,
                "path": self.start_path,
            },
        )

    async def _keep_watch(self) -> None:
        while True:
            try:
                async with asyncio.timeout(WATCH_SECONDS):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                async with self._upkeep:
                    await self._look_after()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("read model upkeep failed this round", extra={"model": self.model}, exc_info=True)

    # The watcher's methods: start() sets self._current before it starts the watcher, and stop()
    # cancels it before clearing self._current.

    async def _look_after(self) -> None:
        assert self._current is not None
        await self.generations.hold(*(feed.generation for feed in (self._current, self._next) if feed))
        if not self._promoted and self._current.checkpoint >= self._target:
            await self._promote()
        live = await self.generations.live()
        if live is not None and live.number > self._current.generation.number:
            if live.version_key != self.projections.version_key:
                self._warn_other_version(live)
            elif self._next is None or self._next.generation.number != live.number:
                await self._follow(live)  # a newer build of these versions: `postroom replay`, a replica
        if self._next is not None and self._next.checkpoint + SWITCH_DISTANCE >= self._current.checkpoint:
            await self._switch()
        await self.generations.sweep()
        last = await self.store.last_sequence()
        for name in self.projections.versions:
            PROJECTION_LAG.labels(name).set(max(0, last - self.checkpoint))
        if self._snapshots is not None and self._promoted and self.caught_up.is_set():
            self._snapshots.save_when_due(self.generations, self._current)

    async def _promote(self) -> None:
        assert self._current is not None
        before = await self.generations.live()
        if await self.generations.promote(self._current.generation):
            self._promoted = True
            self.replaced = before
            log.info(
                "read model generation is live",
                extra={
                    "model": self.model,
                    "generation": self._current.generation.number,
                    "replaced": before.number if before else None,
                    "checkpoint": self._current.checkpoint,
                },
            )
            self._ready()
            return
        live = await self.generations.live()
        if live is not None and live.number == self._current.generation.number:
            self._promoted = True  # a replica building the same generation was first
            self._ready()

    async def _follow(self, live: Generation) -> None:
        """Start feeding the generation that became live elsewhere (`postroom replay`, a replica)."""
        if self._next is not None:
            await self._retire(self._next)
        log.info("following a new read model generation", extra={"model": self.model, "generation": live.number})
        await self.generations.hold(live)
        self._next = await self._feed(live)
        self._next.start()

    async def _switch(self) -> None:
        """Serve from the next generation: once it holds everything the current one holds, with
        the current one standing still meanwhile, so `checkpoint` never goes back and a caller
        who waited for a sequence finds it in whichever generation it reads."""
        current, following = self._current, self._next
        assert current is not None and following is not None  # _look_after checked self._next
        async with current.lock:
            if not await following.reach(current.checkpoint, SWITCH_SECONDS):
                return  # it fell behind again; try on the next round
            self._current, self._next = following, None
            self._promoted = True
            self.replaced = current.generation
            self.engine.switch_to(following.engine, following.generation)
        log.info(
            "read model switched",
            extra={
                "model": self.model,
                "from": current.generation.number,
                "to": following.generation.number,
                "checkpoint": following.checkpoint,
            },
        )
        await self._progressed(following)
        await self._retire(current)

    async def _retire(self, feed: GenerationFeed) -> None:
        await feed.stop()
        await self.generations.release(feed.generation)
        await feed.engine.dispose()

    def _warn_other_version(self, live: Generation) -> None:
        assert self._current is not None
        if self._warned_of != live.number:
            self._warned_of = live.number
            log.warning(
                "a read model of other versions is live; this process keeps its own generation",
                extra={
                    "model": self.model,
                    "live": live.number,
                    "live_versions": live.version_key,
                    "own": self._current.generation.number,
                    "own_versions": self.projections.version_key,
                },
            )


async def replay(
    projections: Projection | Sequence[Projection],
    store: EventStore,
    engine: AsyncEngine,
    report: Callable[[int, int, float], None] | None = None,
    *,
    model: str | None = None,
    settle_seconds: float = 30.0,
) -> int:
    """Build a new generation of the read model from sequence 1 beside the live one, switch to it
    once it has caught up with the head of the stream, and drop the old one as soon as no process
    reads it any more (waiting up to `settle_seconds` for running services to switch).
    Sends nothing, visits nothing. Returns the events read."""
    runner = ProjectionRunner(projections, store, engine, model=model, rebuild=True)
    await runner.start()
    started = time.monotonic()
    try:
        while not runner.caught_up.is_set():
            if report:
                report(runner.checkpoint, runner.target, time.monotonic() - started)
            try:
                async with asyncio.timeout(0.25):
                    await runner.caught_up.wait()
            except TimeoutError:
                pass
        if report:
            report(runner.checkpoint, runner.target, time.monotonic() - started)
        await _wait_until_unread(runner, settle_seconds)
    finally:
        await runner.stop()
    return runner.target


async def _wait_until_unread(runner: ProjectionRunner, timeout: float) -> None:
    replaced = runner.replaced
    if replaced is None:
        return
    deadline = time.monotonic() + timeout
    while await runner.generations.readers(replaced) > 0 and time.monotonic() < deadline:
        await asyncio.sleep(WATCH_SECONDS)
    await runner.generations.sweep()
