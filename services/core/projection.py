"""The projection runner: applies the stream to a read model, exactly once, in order.

The rule that makes it exact: the checkpoint `(projection, last_stream_seq)` is written in the
same transaction as the rows the events change, and an event at or below it is skipped. A
redelivery, a crash between apply and ack, or a resubscribe after a NATS restart all end up
harmless; replay is the same code started from sequence 0.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js import api as js_api
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.core import database
from services.core.event_store import EventStore
from services.core.events import Event, StoredEvent
from services.core.metrics import PROJECTION_APPLIED, PROJECTION_CHECKPOINT, PROJECTION_LAG
from services.core.tasks import cancel_all

log = logging.getLogger(__name__)


REPLAY_BATCH_SIZE = 5000  # nothing reads the model while it is rebuilt: fewer, larger transactions


class Projection(Protocol):
    """Turns events into read-model rows. `apply` must be deterministic and free of side effects."""

    name: str
    metadata: MetaData
    aggregate_types: frozenset[str]

    async def apply(self, conn: AsyncConnection, events: list[StoredEvent]) -> None: ...


class CheckpointMoved(Exception):
    """Another replica advanced the shared checkpoint first."""


class ProjectionRunner:
    def __init__(self, projection: Projection, store: EventStore, engine: AsyncEngine,
                 *, batch_size: int = 1000, stall_seconds: float = 2.0) -> None:
        self.projection = projection
        self.store = store
        self.engine = engine
        self.batch_size = batch_size
        self.stall_seconds = stall_seconds
        self.checkpoint = 0
        self.caught_up = asyncio.Event()
        self._progress = asyncio.Condition()
        self._tasks: list[asyncio.Task] = []
        self._catch_up_target = 0
        self._stopping = False

    async def start(self) -> None:
        await database.create_tables(self.engine, self.projection.metadata)
        await self._load_checkpoint()
        self._catch_up_target = await self.store.last_sequence()
        self._note_progress_sync()
        self._tasks = [asyncio.create_task(self._consume(), name=f"projection-{self.projection.name}"),
                       asyncio.create_task(self._watch_lag(), name=f"projection-lag-{self.projection.name}")]

    async def stop(self) -> None:
        self._stopping = True  # the loops also watch this, in case a cancellation is swallowed
        await cancel_all(self._tasks)
        self._tasks = []

    async def wait_for(self, stream_seq: int, timeout: float) -> bool:
        """Read-your-writes: wait until the read model includes `stream_seq`."""
        if self.checkpoint >= stream_seq:
            return True                           # the usual case on a hot path: no timer, no lock
        async def reached() -> None:
            async with self._progress:
                await self._progress.wait_for(lambda: self.checkpoint >= stream_seq)
        try:
            async with asyncio.timeout(timeout):
                await reached()
            return True
        except TimeoutError:
            return False

    async def _load_checkpoint(self) -> None:
        async with self.engine.connect() as conn:
            self.checkpoint = await database.read_checkpoint(conn, self.projection.name)

    async def _consume(self) -> None:
        backoff = 0.2
        while not self._stopping:
            try:
                await self._consume_one_subscription()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except CheckpointMoved:
                await self._load_checkpoint()
                await self._notify_progress()
            except Exception as error:  # NATS down, DB busy: wait and resume from the checkpoint
                log.warning("projection interrupted", extra={"projection": self.projection.name, "error": repr(error)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _consume_one_subscription(self) -> None:
        inbox = _Inbox(self.batch_size * 4)
        subscription = await self.store.js.subscribe(
            f"{self.store.prefix}.>", stream=self.store.stream, cb=inbox.put, ordered_consumer=True,
            deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE,
            config=js_api.ConsumerConfig(opt_start_seq=self.checkpoint + 1),
        )
        try:
            while not self._stopping:
                batch = await inbox.take(self.batch_size, self.stall_seconds)
                if batch:
                    await self._apply(batch)
                elif await self.store.last_sequence() > self.checkpoint:
                    return  # behind yet silent: the consumer was lost (e.g. server restart)
        finally:
            try:
                await subscription.unsubscribe()
            except Exception:
                pass

    async def _apply(self, batch: list[Msg]) -> None:
        last = self.checkpoint
        events: list[StoredEvent] = []
        wanted = self.projection.aggregate_types
        for msg in batch:
            seq = stream_sequence(msg)
            if seq <= last:
                continue
            last = seq
            if msg.subject.split(".", 2)[1] in wanted:
                decoded = self._decode(seq, msg)
                if decoded is not None:
                    events.append(decoded)
        if last == self.checkpoint:
            return
        async with self.engine.begin() as conn:
            if events:
                await self.projection.apply(conn, events)
            if not await database.advance_checkpoint(conn, self.projection.name, self.checkpoint, last):
                raise CheckpointMoved()
        self.checkpoint = last
        PROJECTION_APPLIED.labels(self.projection.name).inc(len(events))
        await self._notify_progress()

    async def _notify_progress(self) -> None:
        async with self._progress:
            self._progress.notify_all()
        self._note_progress_sync()

    def _decode(self, seq: int, msg: Msg) -> StoredEvent | None:
        try:
            return StoredEvent(seq, msg.subject, Event.FromString(msg.data))
        except DecodeError:
            log.error("undecodable event skipped", extra={"projection": self.projection.name, "stream_seq": seq})
            return None

    def _note_progress_sync(self) -> None:
        PROJECTION_CHECKPOINT.labels(self.projection.name).set(self.checkpoint)
        if self.checkpoint >= self._catch_up_target:
            self.caught_up.set()

    async def _watch_lag(self) -> None:
        while not self._stopping:
            try:
                last = await self.store.last_sequence()
                PROJECTION_LAG.labels(self.projection.name).set(max(0, last - self.checkpoint))
            except asyncio.CancelledError:
                raise
            except Exception:
                pass
            await asyncio.sleep(1.0)


class _Inbox:
    """Messages from the subscription, taken in batches; a full inbox makes delivery wait."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.messages: list[Msg] = []
        self.arrived = asyncio.Event()
        self.drained = asyncio.Event()

    async def put(self, msg: Msg) -> None:
        while len(self.messages) >= self.limit:
            self.drained.clear()
            await self.drained.wait()
        self.messages.append(msg)
        self.arrived.set()

    async def take(self, most: int, timeout: float) -> list[Msg]:
        if not self.messages:
            self.arrived.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self.arrived.wait()
            except TimeoutError:
                return []
        batch, self.messages = self.messages[:most], self.messages[most:]
        self.drained.set()
        return batch


def stream_sequence(msg: Msg) -> int:
    """The stream sequence from the ack subject, without building the whole metadata object.

    $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending> (9 tokens),
    or with <domain>.<account hash> after ACK and a trailing token (12 tokens)."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9:
        return int(tokens[5])
    if len(tokens) >= 11:
        return int(tokens[7])
    return msg.metadata.sequence.stream


async def replay(projection: Projection, store: EventStore, engine: AsyncEngine,
                 report=None) -> int:
    """Drop the read model and rebuild it from sequence 1; returns the events read."""
    await database.drop_tables(engine, projection.metadata)
    await database.create_tables(engine, projection.metadata)
    async with engine.begin() as conn:
        await database.reset_checkpoint(conn, projection.name)
    target = await store.last_sequence()
    runner = ProjectionRunner(projection, store, engine, batch_size=REPLAY_BATCH_SIZE)
    await runner.start()
    started = time.monotonic()
    try:
        while not await runner.wait_for(target, timeout=0.25):
            if report:
                report(runner.checkpoint, target, time.monotonic() - started)
    finally:
        await runner.stop()
    if report:
        report(runner.checkpoint, target, time.monotonic() - started)
    return target
