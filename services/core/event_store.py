"""The JetStream event store: one stream, per-aggregate subjects, optimistic concurrency."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Awaitable, Callable, Sequence, TypeVar, cast

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import APIError, NotFoundError

from services.core import tracing
from services.core.errors import Unavailable
from services.core.events import Event, StoredEvent
from services.core.jetstream_publisher import JetStreamPublisher
from services.core.log_hiccups import Backoff, SubjectBusy, is_log_hiccup
from services.core.metrics import APPEND_RETRIES, events_appended
from services.core.owed_appends import OwedAppends
from services.core.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

WRONG_LAST_SEQUENCE = 10071  # "wrong last sequence: <seq>"
WRONG_LAST_SEQUENCE_IN_PROCESS = 10164  # "wrong last sequence" (clustered: another append to the subject is in flight)
PUBLISH_TIMEOUT_SECONDS = 5.0  # one try; a lost ack is simply tried again (the same Nats-Msg-Id)
STREAM_READY_SECONDS = 60.0  # a starting service waits this long for the stream (a cluster electing)
DRAIN_SECONDS = 5.0  # a stopping service's subscriptions get this long to drain (nats-py's default: 30)
NEW_AGGREGATE = 0  # Nats-Expected-Last-Subject-Sequence 0: the subject must be empty
HEADROOM_BYTES = 1024  # of max_payload, for the subject and headers riding with an event


class ConcurrencyConflict(Exception):
    """The aggregate changed since the expected sequence was read."""

    def __init__(self, subject: str, expected: int) -> None:
        super().__init__(f"{subject} is no longer at sequence {expected}")
        self.subject = subject
        self.expected = expected


class LogUnavailable(Unavailable):
    """The log did not confirm an append within the caller's patience: it may or may not have landed.

    Retrying with the same natural key (an idempotency key, an SNS MessageId) is safe."""

    def __init__(self, subject: str, patience: float, cause: BaseException | None) -> None:
        super().__init__(
            f"the event log did not confirm the write within {patience:g} s "
            f"({type(cause).__name__ if cause else 'no answer'}); it may or may not have been "
            "recorded: retry the same request"
        )
        self.subject = subject
        self.cause = cause


class EventTooLarge(Exception):
    """An event larger than the NATS server takes in one message (max_payload, 1 MB by default)."""

    def __init__(self, subject: str, size: int, limit: int) -> None:
        super().__init__(
            f"an event of {size} bytes on {subject} is over the NATS server's max_payload of {limit} bytes"
        )
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class Appended:
    stream_seq: int
    duplicate: bool


@dataclass(frozen=True)
class PendingAppend:
    """One event of a batch append, with its own concurrency expectation."""

    event: Event
    expected_sequence: int | None = None
    msg_id: str | None = None


class EventStore:
    def __init__(self, nc: NatsClient, settings: Settings) -> None:
        self.nc = nc
        self.nats_servers = settings.nats_servers
        self.js: JetStreamContext = nc.jetstream(timeout=10)
        self.stream = settings.stream_name
        self.prefix = settings.subject_prefix
        self.replicas = settings.stream_replicas
        self.publisher = JetStreamPublisher(nc, PUBLISH_TIMEOUT_SECONDS)
        self.owed = OwedAppends(settings.log_outage_deadline)

    @classmethod
    async def connect(cls, settings: Settings, name: str = "postroom") -> "EventStore":
        nc = await nats.connect(
            settings.nats_servers,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            drain_timeout=DRAIN_SECONDS,
            error_cb=_log_nats_error,
            disconnected_cb=_log_disconnected,
            reconnected_cb=_log_reconnected,
        )
        store = cls(nc, settings)
        await store.ensure_stream()
        return store

    async def close(self) -> None:
        await self.publisher.close()
        if self.nc.is_closed:
            return
        try:
            await self.nc.drain()
        except nats.errors.ConnectionReconnectingError:
            # Between servers (a restart, a leader moving) there is nothing to drain to: nats-py
            # refuses, and the connection must still be closed.
            await self.nc.close()

    async def ensure_stream(self) -> None:
        config = js_api.StreamConfig(
            name=self.stream,
            subjects=[f"{self.prefix}.>"],
            storage=js_api.StorageType.FILE,
            retention=js_api.RetentionPolicy.LIMITS,
            num_replicas=self.replicas,
            duplicate_window=120.0,
        )
        deadline = time.monotonic() + STREAM_READY_SECONDS
        backoff = Backoff(cap=1.0)
        while True:
            try:
                await self._create_stream_unless_present(config)
                return
            except Exception as error:
                if not is_log_hiccup(error) or time.monotonic() > deadline:
                    raise
                log.warning("stream not reachable yet; retrying", extra={"stream": self.stream, "error": repr(error)})
                await asyncio.sleep(backoff.next())

    async def _create_stream_unless_present(self, config: js_api.StreamConfig) -> None:
        try:
            await self.js.stream_info(self.stream)
        except NotFoundError:
            await self.js.add_stream(config)

    def subject_for(self, aggregate_type: str, aggregate_id: str) -> str:
        return f"{self.prefix}.{aggregate_type}.{aggregate_id}"

    def subject_of(self, event: Event) -> str:
        return self.subject_for(event.aggregate_type, event.aggregate_id)

    async def append(self, event: Event, expected_sequence: int | None = None, msg_id: str | None = None) -> Appended:
        """Append durably. `expected_sequence` is the aggregate's last stream sequence (0 = new)."""
        (outcome,) = await self.append_many([PendingAppend(event, expected_sequence, msg_id)])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def append_durably(
        self, event: Event, expected_sequence: int | None = None, msg_id: str | None = None, *, patience: float | None
    ) -> Appended:
        """Append until the log confirms it, through no-responders, timeouts, reconnects and leader elections.

        Every try carries the same Nats-Msg-Id and expected sequence, so a try that landed is
        recognised, not doubled: within JetStream's duplicate window the stream answers
        `duplicate`; after it, the subject's last event is this one. `patience` None means until it
        lands (an owed append: see OwedAppends); otherwise LogUnavailable after that many seconds."""
        (outcome,) = await self.append_many_durably(
            [PendingAppend(event, expected_sequence, msg_id)], patience=patience
        )
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def append_after(
        self, event: Event, last: StoredEvent | None, *, patience: float | None, msg_id: str | None = None
    ) -> Appended | None:
        """`append_durably` right after `last`, its subject's last event as the caller read it (None:
        a new subject); None when another writer appended to the subject first."""
        try:
            return await self.append_durably(
                event, last.stream_seq if last is not None else NEW_AGGREGATE, msg_id, patience=patience
            )
        except ConcurrencyConflict:
            return None

    async def append_many_durably(
        self, items: Sequence[PendingAppend], *, patience: float | None
    ) -> list[Appended | Exception]:
        """`append_durably` for many events at once; each gets its own outcome, in order: an Appended,
        a ConcurrencyConflict, a refusal of the stream, or LogUnavailable once `patience` is spent."""
        outcomes: list[Appended | Exception | None] = [None] * len(items)
        todo = list(range(len(items)))
        deadline = None if patience is None else time.monotonic() + patience
        backoff = Backoff()
        with (
            self.owed.owing() if patience is None else nullcontext(),
            tracing.span("append " + (items[0].event.type if items else ""), kind="PRODUCER"),
        ):
            while todo:
                hiccups: list[int] = []
                for index, outcome in zip(todo, await self._try_appends([items[i] for i in todo])):
                    if is_log_hiccup(outcome):
                        hiccups.append(index)
                        last_error = outcome
                    else:
                        outcomes[index] = outcome
                todo = hiccups
                if not todo:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    for index in todo:
                        outcomes[index] = LogUnavailable(self.subject_of(items[index].event), patience or 0, last_error)
                    break
                APPEND_RETRIES.inc(len(todo))
                await asyncio.sleep(backoff.next())
        return outcomes  # type: ignore[return-value]

    async def patiently(self, read: Callable[[], Awaitable[T]], patience: float) -> T:
        """`read()` (a look-up in the stream), tried again through the log's hiccups for up to
        `patience` seconds; then LogUnavailable."""
        deadline = time.monotonic() + patience
        backoff = Backoff()
        while True:
            try:
                return await read()
            except Exception as error:
                if not is_log_hiccup(error):
                    raise
                if time.monotonic() >= deadline:
                    raise LogUnavailable(self.stream, patience, error) from error
            await asyncio.sleep(backoff.next())

    async def _try_appends(self, items: list[PendingAppend]) -> list[Appended | Exception]:
        """One try of each: a conflict is looked into, since after a lost ack it may be our own event."""
        try:
            outcomes = await self.append_many(items)
        except Exception as error:
            if not is_log_hiccup(error):
                raise
            return [error] * len(items)
        return [
            await self._settle(item, outcome) if isinstance(outcome, ConcurrencyConflict) else outcome
            for item, outcome in zip(items, outcomes)
        ]

    async def _settle(self, item: PendingAppend, conflict: ConcurrencyConflict) -> Appended | Exception:
        """A conflict after a try whose ack was lost: is the subject's last event ours?"""
        try:
            last = await self.last_event(item.event.aggregate_type, item.event.aggregate_id)
        except Exception as error:
            return error if is_log_hiccup(error) else conflict
        if last is not None and last.event.event_id == item.event.event_id:
            return Appended(last.stream_seq, duplicate=True)
        if (last.stream_seq if last is not None else NEW_AGGREGATE) == item.expected_sequence:
            return SubjectBusy()  # the subject has not moved: another append was in flight
        return conflict

    async def append_many(self, items: Sequence[PendingAppend]) -> list[Appended | Exception]:
        """Publish every event at once, then wait for their acks; each gets its own outcome, in order.
        A conflict or a stream error is returned in its place; a timeout or a lost connection raises."""
        encoded = [item.event.SerializeToString() for item in items]
        self._refuse_oversized(items, encoded)
        acks: list = []
        try:
            for item, data in zip(items, encoded):
                acks.append(await self.publisher.send(self.subject_of(item.event), data, self._headers(item)))
        except BaseException:
            for ack in acks:  # nobody will await them: no "never retrieved" noise
                ack.cancel()
            raise
        outcomes: list[Appended | Exception] = []
        for item, ack in zip(items, acks):
            try:
                published = await ack
            except APIError as error:
                outcomes.append(_translate(error, self.subject_of(item.event), item.expected_sequence))
                continue
            except Exception as error:
                if not is_log_hiccup(error):
                    raise
                outcomes.append(error)  # this one's ack was lost; the others keep their answers
                continue
            events_appended(item.event.type).inc()
            outcomes.append(Appended(published.seq, published.duplicate))
        return outcomes

    def _refuse_oversized(self, items: Sequence[PendingAppend], encoded: list[bytes]) -> None:
        """Checked before anything is published: callers refuse large input with a named field long
        before this; here it is the last guard, never a half-published batch."""
        limit = self.nc.max_payload
        for item, data in zip(items, encoded):
            if limit and len(data) > limit - HEADROOM_BYTES:
                raise EventTooLarge(self.subject_of(item.event), len(data), limit)

    def _headers(self, item: PendingAppend) -> dict[str, str]:
        headers = {"Nats-Msg-Id": item.msg_id or item.event.event_id, "Nats-Expected-Stream": self.stream}
        if item.expected_sequence is not None:
            headers["Nats-Expected-Last-Subject-Sequence"] = str(item.expected_sequence)
        if item.event.trace_parent:
            headers[tracing.TRACEPARENT] = item.event.trace_parent
        return headers

    async def last_event(self, aggregate_type: str, aggregate_id: str) -> StoredEvent | None:
        subject = self.subject_for(aggregate_type, aggregate_id)
        try:
            raw = await self.js.get_last_msg(self.stream, subject)
        except NotFoundError:
            return None
        # nats-py types every field of a stored message Optional; the server always sends these.
        return StoredEvent(cast(int, raw.seq), subject, Event.FromString(raw.data or b""))

    async def event_at(self, stream_seq: int) -> StoredEvent | None:
        try:
            raw = await self.js.get_msg(self.stream, stream_seq)
        except NotFoundError:
            return None
        return StoredEvent(cast(int, raw.seq), cast(str, raw.subject), Event.FromString(raw.data or b""))

    async def last_sequence(self) -> int:
        info = await self.js.stream_info(self.stream)
        return info.state.last_seq


def _translate(error: APIError, subject: str, expected: int | None) -> Exception:
    if error.err_code in (WRONG_LAST_SEQUENCE, WRONG_LAST_SEQUENCE_IN_PROCESS) and expected is not None:
        return ConcurrencyConflict(subject, expected)
    return error


async def _log_nats_error(error: Exception) -> None:
    log.warning("nats error", extra={"error": str(error)})


async def _log_disconnected() -> None:
    log.warning("nats disconnected")


async def _log_reconnected() -> None:
    log.info("nats reconnected")
