"""The JetStream event store: one stream, per-aggregate subjects, optimistic concurrency."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import APIError, NotFoundError

from services.core.events import Event, StoredEvent
from services.core.jetstream_publisher import JetStreamPublisher
from services.core.metrics import events_appended
from services.core.settings import Settings

log = logging.getLogger(__name__)

WRONG_LAST_SEQUENCE = 10071  # JetStream's "wrong last sequence" API error code
PUBLISH_TIMEOUT_SECONDS = 10.0
NEW_AGGREGATE = 0            # Nats-Expected-Last-Subject-Sequence 0: the subject must be empty


class ConcurrencyConflict(Exception):
    """The aggregate changed since the expected sequence was read."""

    def __init__(self, subject: str, expected: int) -> None:
        super().__init__(f"{subject} is no longer at sequence {expected}")
        self.subject = subject
        self.expected = expected


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
        self.nats_url = settings.nats_url
        self.js: JetStreamContext = nc.jetstream(timeout=10)
        self.stream = settings.stream_name
        self.prefix = settings.subject_prefix
        self.replicas = settings.stream_replicas
        self.publisher = JetStreamPublisher(nc, PUBLISH_TIMEOUT_SECONDS)

    @classmethod
    async def connect(cls, settings: Settings, name: str = "postroom") -> "EventStore":
        nc = await nats.connect(
            settings.nats_url,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            error_cb=_log_nats_error,
            disconnected_cb=_log_disconnected,
            reconnected_cb=_log_reconnected,
        )
        store = cls(nc, settings)
        await store.ensure_stream()
        return store

    async def close(self) -> None:
        await self.publisher.close()
        if not self.nc.is_closed:
            await self.nc.drain()

    async def ensure_stream(self) -> None:
        config = js_api.StreamConfig(
            name=self.stream,
            subjects=[f"{self.prefix}.>"],
            storage=js_api.StorageType.FILE,
            retention=js_api.RetentionPolicy.LIMITS,
            num_replicas=self.replicas,
            duplicate_window=120.0,
        )
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

    async def append_many(self, items: Sequence[PendingAppend]) -> list[Appended | Exception]:
        """Publish every event at once, then wait for their acks; each gets its own outcome, in order.
        A conflict or a stream error is returned in its place; a timeout or a lost connection raises."""
        acks: list = []
        try:
            for item in items:
                acks.append(await self.publisher.send(self.subject_of(item.event), item.event.SerializeToString(),
                                                      self._headers(item)))
        except BaseException:
            for ack in acks:                     # nobody will await them: no "never retrieved" noise
                ack.cancel()
            raise
        outcomes: list[Appended | Exception] = []
        for item, ack in zip(items, acks):
            try:
                published = await ack
            except APIError as error:
                outcomes.append(_translate(error, self.subject_of(item.event), item.expected_sequence))
                continue
            events_appended(item.event.type).inc()
            outcomes.append(Appended(published.seq, published.duplicate))
        return outcomes

    def _headers(self, item: PendingAppend) -> dict[str, str]:
        headers = {"Nats-Msg-Id": item.msg_id or item.event.event_id, "Nats-Expected-Stream": self.stream}
        if item.expected_sequence is not None:
            headers["Nats-Expected-Last-Subject-Sequence"] = str(item.expected_sequence)
        return headers

    async def last_event(self, aggregate_type: str, aggregate_id: str) -> StoredEvent | None:
        subject = self.subject_for(aggregate_type, aggregate_id)
        try:
            raw = await self.js.get_last_msg(self.stream, subject)
        except NotFoundError:
            return None
        return StoredEvent(raw.seq, subject, Event.FromString(raw.data or b""))

    async def last_sequence(self) -> int:
        info = await self.js.stream_info(self.stream)
        return info.state.last_seq


def _translate(error: APIError, subject: str, expected: int | None) -> Exception:
    if error.err_code == WRONG_LAST_SEQUENCE and expected is not None:
        return ConcurrencyConflict(subject, expected)
    return error


async def _log_nats_error(error: Exception) -> None:
    log.warning("nats error", extra={"error": str(error)})


async def _log_disconnected() -> None:
    log.warning("nats disconnected")


async def _log_reconnected() -> None:
    log.info("nats reconnected")
