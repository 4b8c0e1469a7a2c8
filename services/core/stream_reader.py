"""Reading the whole stream in order, from one sequence, in bounded pulls.

A push consumer's flow control lets the server run 32 MB ahead of a slow reader, which nats-py
then holds as Python objects (a replay's memory was mostly that). Here an ephemeral pull consumer
(no acks, in memory) hands out at most `batch` messages per pull request, and a new request goes
out only while what is buffered and what is requested stay under a few batches: memory is bounded
however far behind the reader is, and reading continues while the caller writes the last batch.

Losing the consumer (a server restart, an inactive consumer removed, no heartbeat) or a hole in
the sequence raises `StreamLost`; the caller opens a new reader from its checkpoint.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import api as js_api

from services.core.event_store import EventStore

STATUS, DESCRIPTION = js_api.Header.STATUS.value, js_api.Header.DESCRIPTION.value
PENDING_MESSAGES = "Nats-Pending-Messages"
HEARTBEAT, NO_MESSAGES, REQUEST_TIMEOUT, CONFLICT = "100", "404", "408", "409"
TOO_BIG = "Message Size Exceeds MaxBytes"
# 409s that end the consumer, not just one pull request (those are answered with more pulls)
CONSUMER_GONE = ("Consumer Deleted", "Leadership Change", "Server Shutdown", "Consumer is push based")

PULL_EXPIRES_SECONDS = 5.0
HEARTBEAT_SECONDS = 1.0
MAX_BYTES_PER_PULL = 8 * 1024 * 1024
LOST_AFTER_SECONDS = 5 * HEARTBEAT_SECONDS
INACTIVE_SECONDS = 60.0       # the server removes the consumer of a reader that is gone
CLOSE_SECONDS = 1.0


class StreamLost(Exception):
    """The consumer is gone or skipped a message: read again from the checkpoint."""


@dataclass
class _Pull:
    reply: str
    remaining: int
    deadline: float


class StreamReader:
    def __init__(self, store: EventStore, start_seq: int, batch: int, buffered_batches: int = 4) -> None:
        self.store = store
        self.start_seq = max(1, start_seq)
        self.batch = batch
        self.limit = batch * buffered_batches
        self.messages: list[tuple[int, Msg]] = []
        self.arrived = asyncio.Event()
        self._pulls: deque[_Pull] = deque()
        self._pull_count = 0
        self._inbox = ""
        self._consumer = ""
        self._subscription: Subscription | None = None
        self._last_seq = 0
        self._heard_at = time.monotonic()
        self._oversized = False
        self._lost: str = ""

    async def open(self) -> None:
        config = js_api.ConsumerConfig(
            deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.start_seq,
            ack_policy=js_api.AckPolicy.NONE, inactive_threshold=INACTIVE_SECONDS, mem_storage=True, num_replicas=1)
        info = await self.store.js.add_consumer(self.store.stream, config)
        self._consumer = info.name
        self._inbox = self.store.nc.new_inbox()
        self._subscription = await self.store.nc.subscribe(f"{self._inbox}.*", cb=self._received,
                                                           pending_msgs_limit=self.limit * 4)
        await self._pull_more()

    async def close(self) -> None:
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()
            except Exception:
                pass
            self._subscription = None
        if self._consumer and not self._lost:
            try:
                async with asyncio.timeout(CLOSE_SECONDS):
                    await self.store.js.delete_consumer(self.store.stream, self._consumer)
            except Exception:
                pass                          # the server removes it once inactive

    async def take(self, most: int, timeout: float) -> list[tuple[int, Msg]]:
        """Up to `most` (stream sequence, message) pairs, in order; [] when none came within `timeout`."""
        deadline = time.monotonic() + timeout
        self._check_alive()
        while not self.messages:
            self.arrived.clear()
            wait = min(deadline - time.monotonic(), HEARTBEAT_SECONDS)
            if wait <= 0:
                return []
            try:
                async with asyncio.timeout(wait):
                    await self.arrived.wait()
            except TimeoutError:
                self._expire_pulls()
                await self._pull_more()
            self._check_alive()
        batch, self.messages = self.messages[:most], self.messages[most:]
        await self._pull_more()
        return batch

    async def _received(self, msg: Msg) -> None:
        self._heard_at = time.monotonic()
        if not msg.data and msg.headers and STATUS in msg.headers:
            self._status(msg)
        else:
            self._data(msg)
        await self._pull_more()

    def _data(self, msg: Msg) -> None:
        seq = stream_sequence(msg)
        if self._lost:
            return
        if self._last_seq and seq != self._last_seq + 1:
            self._lost = f"sequence {self._last_seq + 1} was not delivered (got {seq})"
            self.arrived.set()
            return
        self._last_seq = seq
        if self._pulls:
            self._pulls[0].remaining -= 1
            if self._pulls[0].remaining <= 0:
                self._pulls.popleft()
        self.messages.append((seq, msg))
        self.arrived.set()

    def _status(self, msg: Msg) -> None:
        code, description = msg.headers.get(STATUS, ""), msg.headers.get(DESCRIPTION, "")
        if code == HEARTBEAT:
            return
        if code == CONFLICT and description.startswith(CONSUMER_GONE):
            self._lost = f"the consumer ended: {code} {description}"
        # The server answers requests in order: this one, and any before it, are over.
        while self._pulls:
            ended = self._pulls.popleft()
            if ended.reply == msg.subject:
                if description == TOO_BIG and msg.headers.get(PENDING_MESSAGES) == str(self.batch):
                    self._oversized = True    # the next message alone exceeds a pull's byte cap
                break
        self.arrived.set()

    async def _pull_more(self) -> None:
        """Ask for another batch while the buffered and requested messages stay under the limit."""
        if self._subscription is None:
            return
        while len(self._pulls) < 2 and len(self.messages) + self._requested() + self.batch <= self.limit:
            self._pull_count += 1
            batch = 1 if self._oversized else self.batch
            request = {"batch": batch, "expires": int(PULL_EXPIRES_SECONDS * 1e9),
                       "idle_heartbeat": int(HEARTBEAT_SECONDS * 1e9)}
            if not self._oversized:
                request["max_bytes"] = MAX_BYTES_PER_PULL
            self._oversized = False
            reply = f"{self._inbox}.{self._pull_count}"
            self._pulls.append(_Pull(reply, batch, time.monotonic() + PULL_EXPIRES_SECONDS + HEARTBEAT_SECONDS))
            await self.store.nc.publish(f"{js_api.DEFAULT_PREFIX}.CONSUMER.MSG.NEXT.{self.store.stream}.{self._consumer}",
                                        json.dumps(request).encode(), reply=reply)

    def _requested(self) -> int:
        return sum(pull.remaining for pull in self._pulls)

    def _expire_pulls(self) -> None:
        # A pull that ended exactly on its byte cap ends without a word: forget it after its time.
        now = time.monotonic()
        while self._pulls and self._pulls[0].deadline < now:
            self._pulls.popleft()

    def _check_alive(self) -> None:
        if self._lost:
            raise StreamLost(self._lost)
        if self._pulls and time.monotonic() - self._heard_at > LOST_AFTER_SECONDS:
            raise StreamLost("no heartbeat from the consumer")


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

