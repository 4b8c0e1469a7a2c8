"""Publishing to JetStream with each acknowledgement awaited: one reply subscription for all.

nats-py's `js.publish` is a full request/reply per message (a fresh NUID inbox, an
`asyncio.wait_for` timer, a PubAck dataclass), which on the dispatch hot path cost more than
the SMTP work itself; its `publish_async` has no timeout, so a publish whose ack is lost (a
reconnect) waits forever. Here every publish gets a short counter token on one wildcard reply
subject, a plain future, and a deadline that one sweeper enforces for all of them.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import time
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.errors import APIError, NoStreamResponseError

NO_RESPONDERS = "503"
SWEEP_SECONDS = 0.25


@dataclass(frozen=True)
class PubAck:
    seq: int
    duplicate: bool


class JetStreamPublisher:
    def __init__(self, nc: NatsClient, timeout: float) -> None:
        self.nc = nc
        self.timeout = timeout
        self._reply_prefix = ""
        self._tokens = itertools.count()
        self._waiting: dict[str, asyncio.Future[PubAck]] = {}
        self._deadlines: collections.deque[tuple[float, str]] = collections.deque()
        self._sweeper: asyncio.Task | None = None
        self._started = asyncio.Lock()

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> PubAck:
        """Publish and wait for the stream's acknowledgement; raise its error, or a timeout."""
        return await (await self.send(subject, payload, headers))

    async def send(self, subject: str, payload: bytes, headers: dict[str, str]) -> asyncio.Future[PubAck]:
        """Publish and return the future of its acknowledgement, so many can be in flight at once."""
        if not self._reply_prefix:
            await self._start()
        token = str(next(self._tokens))
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        self._deadlines.append((time.monotonic() + self.timeout, token))
        try:
            await self.nc.publish(subject, payload, reply=self._reply_prefix + token, headers=headers)
        except BaseException:
            self._waiting.pop(token, None)
            raise
        return future

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(nats.errors.ConnectionClosedError())
        self._waiting.clear()

    async def _start(self) -> None:
        async with self._started:
            if self._reply_prefix:
                return
            prefix = self.nc.new_inbox() + "."
            await self.nc.subscribe(prefix + "*", cb=self._on_ack)
            self._sweeper = asyncio.create_task(self._sweep(), name="jetstream-publish-timeouts")
            self._reply_prefix = prefix

    async def _on_ack(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject[len(self._reply_prefix) :], None)
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == NO_RESPONDERS:
            future.set_exception(NoStreamResponseError())
            return
        try:
            ack = json.loads(msg.data)
        except ValueError:
            future.set_exception(APIError(description=f"unreadable publish ack {msg.data[:80]!r}"))
            return
        if "error" in ack:
            future.set_exception(_api_error(ack["error"]))
        else:
            future.set_result(PubAck(ack["seq"], bool(ack.get("duplicate"))))

    async def _sweep(self) -> None:
        """Fail the publishes whose ack did not come in time. All share one timeout, so the
        deadlines are in order: only the head of the queue needs looking at, and answered
        publishes are dropped from it as they reach the head."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = time.monotonic()
            deadlines, waiting = self._deadlines, self._waiting
            while deadlines and (deadlines[0][1] not in waiting or deadlines[0][0] <= now):
                _, token = deadlines.popleft()
                future = self._waiting.pop(token, None)
                if future is not None and not future.done():
                    future.set_exception(nats.errors.TimeoutError())


def _api_error(error: dict) -> APIError:
    # nats-py's APIError.from_error raises rather than returns (which is how publish_async hangs).
    try:
        APIError.from_error(error)
    except APIError as raised:
        return raised
    return APIError(description=str(error))
