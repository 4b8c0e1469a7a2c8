"""Reading the whole stream in order, from one sequence, in bounded pulls.

A push consumer's flow control lets the server run 32 MB ahead of a slow reader, which nats-py
then holds as Python objects (a replay's memory was mostly that). Here an ephemeral pull consumer
(no acks, in memory) hands out at most `batch` messages per pull request, and a new request goes
out only while what is buffered and what is requested stay under a few batches: memory is bounded
however far behind the reader is, and reading continues while the caller writes the last batch.

Losing the consumer (a server restart, an inactive consumer removed, no heartbeat) or a hole in
the sequence raises `StreamLost` (after the messages before it are taken); the caller opens a new
reader from its checkpoint. A hole where a reader starts is a message the stream no longer has.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import api as js_api

from services.core.event_store import EventStore

STATUS, DESCRIPTION = js_api.Header.STATUS.value, js_api.Header.DESCRIPTION.value
PENDING_MESSAGES = "Nats-Pending-Messages"
HEARTBEAT, CONFLICT = "100", "409"
TOO_BIG = "Message Size Exceeds MaxBytes"
# 409s that end the consumer, not just one pull request (those are answered with more pulls)
CONSUMER_GONE = ("Consumer Deleted", "Leadership Change", "Server Shutdown", "Consumer is push based")

MAX_PULL = 2000  # messages per pull request
OUTSTANDING_PULLS = 2  # so the server always has one to fill while the last one is read
PULL_EXPIRES_SECONDS = 5.0
HEARTBEAT_SECONDS = 1.0
FILL_SECONDS = 0.25  # the longest a batch waits for the rest of a batch the stream holds
MAX_BYTES_PER_PULL = 8 * 1024 * 1024
MAX_BUFFERED_BYTES = 32 * 1024 * 1024  # events' data held between the server and the caller
LOST_AFTER_SECONDS = 5 * HEARTBEAT_SECONDS
INACTIVE_SECONDS = 60.0  # the server removes the consumer of a reader that is gone
CLOSE_SECONDS = 1.0


class StreamLost(Exception):
    """The consumer is gone or skipped a message: read again from the checkpoint."""


_HEADER_LINE = b"NATS/1.0"


class _ReadingConnection(NatsClient):
    """A NATS connection that parses a message's headers only when they carry a status (a
    JetStream control message: `NATS/1.0 408 Request Timeout`). The reader never looks at an
    event's own headers (Nats-Msg-Id, ...), and nats-py making a dict of them for every message
    was a quarter of a replay's time. This overrides nats-py's Client._process_headers (the
    version is pinned in constraints.txt; tests/integration/core/test_stream_reader.py fails
    if it stops working)."""

    async def _process_headers(self, headers):
        if headers and headers[len(_HEADER_LINE) : len(_HEADER_LINE) + 1] == b" ":
            return await super()._process_headers(headers)
        return None


async def _quiet(_error: Exception) -> None:
    """The reader notices a lost connection by itself (StreamLost) and opens a new one."""


@dataclass
class _Pull:
    reply: str
    remaining: int
    deadline: float


class StreamReader:
    def __init__(self, store: EventStore, start_seq: int, taken_at_once: int) -> None:
        self.store = store
        self.start_seq = max(1, start_seq)
        self.batch = min(taken_at_once, MAX_PULL)
        # What is buffered or requested: enough for the next take while the caller applies this one.
        self.limit = taken_at_once + OUTSTANDING_PULLS * self.batch
        # (stream sequence, subject, data): plain tuples, which the garbage collector stops
        # scanning, unlike nats-py's Msg objects (their scans were a fifth of a replay's time).
        self.messages: list[tuple[int, str, bytes]] = []
        self._buffered_bytes = 0
        self.arrived = asyncio.Event()
        self._pulls: deque[_Pull] = deque()
        self._pull_count = 0
        self._inbox = ""
        self._consumer = ""
        self._connection: _ReadingConnection | None = None
        self._subscription: Subscription | None = None
        self._last_seq = 0
        self._heard_at = time.monotonic()
        self._oversized = False
        self._lost: str = ""
        self._pending = 0  # messages the stream holds after the last one received
        self._wanted = 1

    async def open(self) -> None:
        config = js_api.ConsumerConfig(
            deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self.start_seq,
            ack_policy=js_api.AckPolicy.NONE,
            inactive_threshold=INACTIVE_SECONDS,
            mem_storage=True,
            num_replicas=1,
        )
        self._connection = _ReadingConnection()
        # Any seed will do: a reader that cannot connect is opened again (the servers are shuffled).
        await self._connection.connect(
            self.store.nats_servers,
            name="postroom-stream-reader",
            connect_timeout=5,
            allow_reconnect=False,
            error_cb=_quiet,
        )
        info = await self.store.js.add_consumer(self.store.stream, config)
        self._consumer = info.name
        self._inbox = self._connection.new_inbox()
        self._subscription = await self._connection.subscribe(
            f"{self._inbox}.*", cb=self._received, pending_msgs_limit=self.limit * 4
        )
        await self._pull_more()

    async def close(self) -> None:
        if self._connection is not None:
            try:
                await self._connection.close()
            except Exception:
                pass
            self._connection = self._subscription = None
        if self._consumer and not self._lost:
            try:
                async with asyncio.timeout(CLOSE_SECONDS):
                    await self.store.js.delete_consumer(self.store.stream, self._consumer)
            except Exception:
                pass  # the server removes it once inactive

    async def take(self, most: int, timeout: float) -> list[tuple[int, str, bytes]]:
        """Up to `most` (stream sequence, subject, data), in order; [] when none came within `timeout`.

        While the stream holds a whole batch more (far behind: a rebuild, a new pod), it waits a
        moment for all of it: fewer, larger transactions, in which a projection coalesces more.
        Near the head of the stream it hands out what is there at once."""
        deadline = time.monotonic() + timeout
        self._wanted = most
        self._check_alive()
        while not self._enough():
            self.arrived.clear()
            wait = FILL_SECONDS if self.messages else min(deadline - time.monotonic(), HEARTBEAT_SECONDS)
            if wait <= 0:
                return []
            try:
                async with asyncio.timeout(wait):
                    await self.arrived.wait()
            except TimeoutError:
                if self.messages:
                    break  # the batch is slow to fill: take what is here
                self._expire_pulls()
                await self._pull_more()
            self._check_alive()
        batch, self.messages = self._split(most)
        await self._pull_more()
        return batch

    def _split(self, most: int) -> tuple[list[tuple[int, str, bytes]], list[tuple[int, str, bytes]]]:
        """The first `most` messages, fewer when they hold more than the buffer's worth of data."""
        count, size = min(most, len(self.messages)), 0
        for index, (_, _, data) in enumerate(self.messages[:count]):
            if index and size + len(data) > MAX_BUFFERED_BYTES:
                count = index
                break
            size += len(data)
        self._buffered_bytes -= size
        return self.messages[:count], self.messages[count:]

    def _enough(self) -> bool:
        """A whole batch is here, or the stream does not hold one more (near its head: no waiting)."""
        buffered = len(self.messages)
        return buffered > 0 and (
            buffered >= self._wanted or buffered + self._pending < self._wanted or bool(self._lost)
        )

    async def _received(self, msg: Msg) -> None:
        # Called for every message of a replay: only a finished pull or a status asks for more.
        if msg.headers is not None and not msg.data and STATUS in msg.headers:
            self._heard_at = time.monotonic()
            self._status(msg)
            await self._pull_more()
        elif self._data(msg):
            self._heard_at = time.monotonic()
            await self._pull_more()

    def _data(self, msg: Msg) -> bool:
        """Buffer one event; True when it was the last one of its pull."""
        seq, self._pending = _position(msg)
        if self._lost:
            return False
        if self._last_seq and seq != self._last_seq + 1:
            self._lost = f"sequence {self._last_seq + 1} was not delivered (got {seq})"
            self.arrived.set()
            return False
        self._last_seq = seq
        self.messages.append((seq, msg.subject, msg.data))
        self._buffered_bytes += len(msg.data)
        if len(self.messages) >= self._wanted or len(self.messages) + self._pending < self._wanted:
            self.arrived.set()
        if self._pulls:
            head = self._pulls[0]
            head.remaining -= 1
            if head.remaining <= 0:
                self._pulls.popleft()
                return True
        return False

    def _status(self, msg: Msg) -> None:
        assert msg.headers is not None  # _received checked
        code, description = msg.headers.get(STATUS, ""), msg.headers.get(DESCRIPTION, "")
        if code == HEARTBEAT:
            return
        if code == CONFLICT and description.startswith(CONSUMER_GONE):
            self._lost = f"the consumer ended: {code} {description}"
            self.arrived.set()
        # The server answers pulls in order: this one, and any before it, are over. A pull that
        # was already counted full is followed by an informational "409 Batch Completed".
        if not any(pull.reply == msg.subject for pull in self._pulls):
            return
        while self._pulls:
            ended = self._pulls.popleft()
            if ended.reply == msg.subject:
                if description == TOO_BIG and msg.headers.get(PENDING_MESSAGES) == str(self.batch):
                    self._oversized = True  # the next message alone exceeds a pull's byte cap
                break
        self.arrived.set()

    async def _pull_more(self) -> None:
        """Ask for another batch while the buffered and requested messages stay under the limit."""
        if self._subscription is None:
            return
        assert self._connection is not None  # open() sets it before self._subscription; close() clears both
        while (
            len(self._pulls) < OUTSTANDING_PULLS
            and len(self.messages) + self._requested() + self.batch <= self.limit
            and self._buffered_bytes + (len(self._pulls) + 1) * MAX_BYTES_PER_PULL <= MAX_BUFFERED_BYTES
        ):
            self._pull_count += 1
            batch = 1 if self._oversized else self.batch
            request = {
                "batch": batch,
                "expires": int(PULL_EXPIRES_SECONDS * 1e9),
                "idle_heartbeat": int(HEARTBEAT_SECONDS * 1e9),
            }
            if not self._oversized:
                request["max_bytes"] = MAX_BYTES_PER_PULL
            self._oversized = False
            reply = f"{self._inbox}.{self._pull_count}"
            self._pulls.append(_Pull(reply, batch, time.monotonic() + PULL_EXPIRES_SECONDS + HEARTBEAT_SECONDS))
            await self._connection.publish(
                f"{js_api.DEFAULT_PREFIX}.CONSUMER.MSG.NEXT.{self.store.stream}.{self._consumer}",
                json.dumps(request).encode(),
                reply=reply,
            )

    def _requested(self) -> int:
        return sum(pull.remaining for pull in self._pulls)

    def _expire_pulls(self) -> None:
        # A pull that ended exactly on its byte cap ends without a word: forget it after its time.
        now = time.monotonic()
        while self._pulls and self._pulls[0].deadline < now:
            self._pulls.popleft()

    def _check_alive(self) -> None:
        """Raise StreamLost when reading cannot go on, once what came before the trouble is taken:
        the caller's checkpoint then covers it, and a new reader starts after it."""
        if self.messages:
            return
        if self._lost:
            raise StreamLost(self._lost)
        if self._connection is None or not self._connection.is_connected:
            raise StreamLost("the connection to NATS closed")
        if self._pulls and time.monotonic() - self._heard_at > LOST_AFTER_SECONDS:
            raise StreamLost("no heartbeat from the consumer")


def _position(msg: Msg) -> tuple[int, int]:
    """(stream sequence, messages pending after it), from the ack subject, without building the
    whole metadata object.

    $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending> (9 tokens),
    or with <domain>.<account hash> after ACK and a trailing token (12 tokens)."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9:
        return int(tokens[5]), int(tokens[8])
    if len(tokens) >= 11:
        return int(tokens[7]), int(tokens[10])
    return msg.metadata.sequence.stream, msg.metadata.num_pending
