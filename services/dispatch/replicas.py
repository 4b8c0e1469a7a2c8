"""The live dispatch replicas, and which of them is sending an email right now.

JetStream redelivers a queued email whenever its lease looks lapsed: its worker died, or the
log was away long enough (a leader election, a reconnect) that in-progress acks did not land.
Only the first case may lead to a second send. So a replica given a redelivery asks the others,
over core NATS (which keeps working while JetStream elects leaders), whether one of them is still
sending it, and sends only when every live replica has answered no.

A replica is live while its heartbeat is in a KV bucket whose entries expire after
HEARTBEAT_TTL_SECONDS. A replica that is live but does not answer (it is reconnecting) leaves
the question open, and the email waits; one killed with -9 stops answering at once and its
heartbeat expires, after which its email goes out again from a survivor.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import os
import socket
import time
import uuid
from typing import Callable

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import api as js_api

from services.core.buckets import ReopenedBucket
from services.core.event_store import EventStore
from services.core.log_hiccups import is_log_hiccup
from services.core.periodic import every

log = logging.getLogger(__name__)


HEARTBEAT_TTL_SECONDS = 15.0
HEARTBEAT_EVERY_SECONDS = 3.0
ANSWER_WITHIN_SECONDS = 1.0
LIVE_LIST_CACHE_SECONDS = 1.0


class Sender(enum.Enum):
    ANOTHER_REPLICA = "another live replica is sending it"
    NOBODY = "no live replica is sending it"
    UNKNOWN = "a live replica has not answered"


class DispatchReplicas:
    def __init__(self, store: EventStore, is_sending: Callable[[str], bool], patience: float = 10.0) -> None:
        """`patience`: how long one use of the heartbeat bucket rides out the log's hiccups."""
        self.store = store
        self.is_sending = is_sending
        self.replica_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}".replace(".", "-")
        self.subject = f"{store.prefix}-control.dispatch.sending"
        self._heartbeats = ReopenedBucket(
            store.js,
            js_api.KeyValueConfig(
                bucket=f"{store.stream}-dispatch-replicas",
                history=1,
                ttl=HEARTBEAT_TTL_SECONDS,
                replicas=store.replicas,
                storage=js_api.StorageType.FILE,
                description="Postroom dispatch: live replicas (heartbeats)",
            ),
            patience,
        )
        self._tasks: list[asyncio.Task] = []
        self._subscription: Subscription | None = None
        self._live: tuple[float, frozenset[str]] = (0.0, frozenset())

    async def start(self) -> None:
        self._subscription = await self.store.nc.subscribe(self.subject, cb=self._answer)
        await self._first_beat()
        self._tasks = [asyncio.create_task(self._keep_beating(), name="dispatch-heartbeat")]

    async def _first_beat(self) -> None:
        """This replica takes no mail before it is among the live ones (the others ask the live
        replicas before sending a redelivery again); a starting process has nothing in hand, so it
        waits out a cluster that is electing leaders or catching up rather than exiting."""
        while True:
            try:
                await self._beat()
                return
            except Exception as error:
                if not is_log_hiccup(error):
                    raise
                log.warning("no heartbeat recorded yet; trying again", extra={"error": repr(error)})

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
        with contextlib.suppress(Exception):  # a clean stop leaves no heartbeat to wait out
            await self._heartbeats.use(lambda kv: kv.delete(self.replica_id))

    async def who_sends(self, dispatch_id: str) -> Sender:
        """Ask every other live replica whether it is sending `dispatch_id`."""
        others = await self._live_replicas() - {self.replica_id}
        if not others:
            return Sender.NOBODY
        answers = await self._ask(dispatch_id, others)
        if any(answers.values()):
            return Sender.ANOTHER_REPLICA
        return Sender.NOBODY if others <= answers.keys() else Sender.UNKNOWN

    async def _ask(self, dispatch_id: str, others: frozenset[str]) -> dict[str, bool]:
        nc = self.store.nc
        answers: dict[str, bool] = {}
        complete = asyncio.Event()

        async def collect(msg: Msg) -> None:
            answer = json.loads(msg.data)
            answers[answer["replica"]] = bool(answer["sending"])
            if others <= answers.keys() or answer["sending"]:
                complete.set()

        inbox = nc.new_inbox()
        subscription = await nc.subscribe(inbox, cb=collect)
        try:
            await nc.publish(self.subject, dispatch_id.encode(), reply=inbox)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ANSWER_WITHIN_SECONDS):
                    await complete.wait()
        finally:
            await subscription.unsubscribe()
        return answers

    async def _answer(self, msg: Msg) -> None:
        if msg.reply:
            sending = self.is_sending(msg.data.decode(errors="replace"))
            await msg.respond(json.dumps({"replica": self.replica_id, "sending": sending}).encode())

    async def _live_replicas(self) -> frozenset[str]:
        read_at, live = self._live
        if time.monotonic() - read_at > LIVE_LIST_CACHE_SECONDS:
            live = await self._heartbeats.keys()
            self._live = (time.monotonic(), live)
        return live

    async def _beat(self) -> None:
        beat = json.dumps({"since": time.time()}).encode()
        await self._heartbeats.use(lambda kv: kv.put(self.replica_id, beat))

    async def _keep_beating(self) -> None:
        await every(HEARTBEAT_EVERY_SECONDS, self._beat, "dispatch heartbeat")
