"""Applying the stream to one generation of a read model, exactly once, in order.

The rule that makes it exact: the checkpoint `(model, last_stream_seq)` is written in the same
transaction as the rows the events change, with a compare-and-set, and an event at or below it is
skipped. A redelivery, a crash between apply and ack, a resubscribe after a NATS restart, or a
replica sharing the same PostgreSQL tables all end up harmless; a rebuild is the same code started
from sequence 0.

Memory stays bounded however far behind the feed is: the stream is read in bounded pulls
(`stream_reader.py`).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
from typing import Awaitable, Callable

from google.protobuf.message import DecodeError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.core import database
from services.core.event_store import EventStore
from services.core.metrics import PROJECTION_APPLIED
from services.core.events import Event
from services.core.read_model_generations import Generation
from services.core.stream_reader import StreamReader
from services.core.tasks import cancel_all

log = logging.getLogger(__name__)

# How far past its checkpoint has_read looks through what the feed has read but not written yet:
# a caller that far behind waits for the writes (the look is repeated at every batch).
LOOK_AHEAD = 256


async def wait_until(progress: asyncio.Condition, reached: Callable[[], bool], timeout: float) -> bool:
    """Wait on `progress` until `reached()`; False when `timeout` passes first."""

    async def wait() -> None:
        async with progress:
            await progress.wait_for(reached)

    try:
        async with asyncio.timeout(timeout):
            await wait()
        return True
    except TimeoutError:
        return False


class CheckpointMoved(Exception):
    """Another replica advanced the shared checkpoint first."""


class GenerationFeed:
    """Feeds `projections` (a ProjectionSet) in one generation from its checkpoint onwards."""

    def __init__(
        self,
        generation: Generation,
        engine: AsyncEngine,
        projections,
        store: EventStore,
        on_progress: Callable[["GenerationFeed"], Awaitable[None]],
        *,
        batch_size: int,
        stall_seconds: float,
    ) -> None:
        self.generation = generation
        self.engine = engine
        self.projections = projections
        self.store = store
        self.on_progress = on_progress
        self.batch_size = batch_size
        self.stall_seconds = stall_seconds
        self.checkpoint = 0
        # Held while a batch is applied: a switch takes it so this feed stands still meanwhile.
        self.lock = asyncio.Lock()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._reader: StreamReader | None = None
        self._in_hand: list[tuple[int, str, bytes]] = []  # taken from the reader, not written yet

    @property
    def checkpoint_name(self) -> str:
        return self.generation.model

    async def prepare(self) -> None:
        """Create the tables (a new generation) and read the checkpoint."""
        await self.projections.create_tables(self.engine)
        await self.load_checkpoint()

    async def load_checkpoint(self) -> None:
        async with self.engine.connect() as conn:
            self.checkpoint = await database.read_checkpoint(conn, self.checkpoint_name)

    def start(self) -> None:
        self._task = asyncio.create_task(self._consume(), name=f"feed-{self.generation.storage_name}")

    async def stop(self) -> None:
        self._stopping = True  # the loop also watches this, in case a cancellation is swallowed
        if self._task is not None:
            async with self.lock:  # between batches: never cancelled inside a transaction
                await cancel_all([self._task])
            self._task = None

    async def reach(self, stream_seq: int, timeout: float) -> bool:
        """Wait until this feed's checkpoint is at least `stream_seq`."""
        return await wait_until(self._progress, lambda: self.checkpoint >= stream_seq, timeout)

    def has_read(self, stream_seq: int, unread_by: Callable[[str], bool]) -> bool:
        """True when every event up to `stream_seq` is written, or read and not written yet but of
        a subject `unread_by` says the caller's reads do not depend on: such a caller need not wait
        for the write of events it would not read anyway. A hole in what was read is a wait."""
        if self.checkpoint >= stream_seq:
            return True
        if stream_seq - self.checkpoint > LOOK_AHEAD:
            return False
        expected = self.checkpoint + 1
        buffered = self._reader.messages if self._reader is not None else ()
        for seq, subject, _ in itertools.chain(self._in_hand, buffered):
            if seq < expected:
                continue
            if seq > expected or not unread_by(subject):
                return False
            if seq == stream_seq:
                return True
            expected += 1
        return False

    async def _consume(self) -> None:
        backoff = 0.2
        while not self._stopping:
            try:
                await self._consume_one_subscription()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as error:  # NATS down, DB busy: wait and resume from the checkpoint
                log.warning(
                    "projection interrupted", extra={"model": self.generation.storage_name, "error": repr(error)}
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _consume_one_subscription(self) -> None:
        reader = self._reader = StreamReader(self.store, self.checkpoint + 1, self.batch_size)
        try:
            await reader.open()
            while not self._stopping:
                batch = self._in_hand = await reader.take(self.batch_size, self.stall_seconds)
                if batch:
                    if not await self._apply_unless_applied(batch):
                        return  # read again from the checkpoint a replica left
                elif await self.store.last_sequence() > self.checkpoint:
                    return  # behind yet silent: the consumer was lost (e.g. server restart)
                self._in_hand = []
        finally:
            self._reader, self._in_hand = None, []
            await reader.close()

    async def _apply_unless_applied(self, batch: list[tuple[int, str, bytes]]) -> bool:
        """Apply the batch; False when the reader must start again after the checkpoint."""
        try:
            await self._apply(batch)
            return True
        except CheckpointMoved:
            # A replica sharing this generation applied some of it first. When it applied all of
            # it, reading goes on (what it applied is skipped); when only part, what it did not
            # apply must be read again, or the next batch would skip it.
            await self.load_checkpoint()
            await self._progressed()
            return self.checkpoint >= batch[-1][0]

    async def _apply(self, batch: list[tuple[int, str, bytes]]) -> None:
        async with self.lock:
            changes = self.projections.new_changes()
            last, routed = self._collect(batch, changes)
            if last == self.checkpoint:
                return
            async with self.engine.begin() as conn:
                if routed:
                    await self.projections.write(conn, changes)
                if not await database.advance_checkpoint(conn, self.checkpoint_name, self.checkpoint, last):
                    raise CheckpointMoved()
            self.checkpoint = last
            PROJECTION_APPLIED.labels(self.generation.model).inc(routed)
        await self._progressed()

    def _collect(self, batch: list[tuple[int, str, bytes]], changes: list) -> tuple[int, int]:
        """Decode and route the batch; (its last sequence, how many events were routed).

        No garbage collection meanwhile: every object made here lives until the batch is
        written, so a collection midway would only scan them again (it tripled the time of a
        large batch); the one owed runs after."""
        last, routed = self.checkpoint, 0
        collect, decode = self.projections.collect, Event.FromString
        collecting = gc.isenabled()
        gc.disable()
        try:
            for seq, subject, data in batch:
                if seq <= last:
                    continue
                last = seq
                try:
                    event = decode(data)
                except DecodeError:
                    log.error("undecodable event skipped", extra={"model": self.generation.model, "stream_seq": seq})
                    continue
                if collect(changes, seq, subject, event):
                    routed += 1
        finally:
            if collecting:
                gc.enable()
        return last, routed

    async def _progressed(self) -> None:
        async with self._progress:
            self._progress.notify_all()
        await self.on_progress(self)
