"""One shared durable pull consumer, worked by a handler: dispatch's queue, the complaint reactor.

The consumer mechanics live here once: binding (again, after a NATS restart or a lost consumer),
fetching only as much as there are free slots, one task per message, leases kept with
in-progress acks, a graceful drain, and the acknowledgement. A message is acked only once its
handler has returned, and a handler returns only once what it owes the log is durable
(`EventStore.append_durably`); so a crash anywhere means a redelivery, never a loss.

The worker's consumer declares what it handles as projections do, one method per event type
(`@handles(events_pb2.EmailQueued) async def queued(self, delivery, payload)`): that declaration
is the consumer's only list of types, checked at start. A handler raises `Requeue(delay)` to have
the message delivered again later (nak with delay); any other exception is logged and the message
comes back after `retry_delay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable, Collection

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import api as js_api
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError

from services.core import point_of_no_return, tracing
from services.core.event_routes import EventRoutes
from services.core.event_store import EventStore
from services.core.events import Event
from services.core.tasks import cancel_all

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0
UNBIND_SECONDS = 3.0  # a stopping worker's last pull (1 s) expires and its inbox is closed
PULL_SECONDS = 1.0
PULL_GRACE_SECONDS = 2.0  # past a pull's expiry, how long to wait for the server to say it is over
OVERDUE_PAUSE_SECONDS = 1.0
PAST_NO_RETURN_RECHECK_SECONDS = 0.2  # how soon a handler found back before its point is put back
# Beyond any replica set's total concurrency: each replica bounds itself by its own slots, so
# nothing here has to know how many replicas there are.
MAX_ACK_PENDING = 50_000


class Requeue(Exception):
    """Leave the message for later (a paused provider, a read model behind): nak with a delay."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"requeue in {delay:.1f}s")
        self.delay = delay
        self.reason = reason


@dataclass(frozen=True)
class ConsumerPlan:
    """Which durable consumer to work, on which events, how many at once."""

    durable: str
    aggregate_type: str  # the filter is <prefix>.<aggregate_type>.>
    concurrency: int
    ack_wait: float
    fetch_batch: int = 256
    retry_delay: float = 60.0  # after an unexpected failure
    # On a graceful stop, how long past the grace a handler past its point of no return (a send SES
    # may already hold) is given to finish before it too is cancelled.
    past_no_return_seconds: float = 0.0


@dataclass(frozen=True)
class Delivery:
    msg: Msg
    event: Event
    stream_seq: int
    may_have_been_seen: bool  # a redelivery, or older than the consumer: check before acting

    @property
    def redelivered(self) -> bool:
        return self.msg.metadata.num_delivered > 1


class DurableWorker:
    def __init__(
        self,
        store: EventStore,
        plan: ConsumerPlan,
        consumer: object,
        key: Callable[[Event], str] = lambda event: event.aggregate_id,
    ) -> None:
        """`consumer` declares its handlers with @handles; each is called `(delivery, payload)`."""
        self.store = store
        self.plan = plan
        self.routes = EventRoutes.of(consumer, arguments=2)
        self.key = key
        self._in_flight: dict[asyncio.Task, Msg] = {}
        self._points: dict[asyncio.Task, point_of_no_return.PointOfNoReturn] = {}
        self._working_on: dict[str, asyncio.Task] = {}
        self._slot_free = asyncio.Event()
        self._stopping = False
        self._arrived_while_stopping: list[Msg] = []
        self._unbound = asyncio.Event()
        self._consumer_created: datetime | None = None

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def is_working_on(self, key: str) -> bool:
        return key in self._working_on

    # ---- consuming ----

    async def run(self) -> None:
        """Consume until cancelled; a lost consumer (NATS restart, network) is bound again."""
        leases = asyncio.create_task(self._renew_leases(), name=f"{self.plan.durable}-leases")
        try:
            await keep_consuming(self.plan.durable, self._consume)
        finally:
            leases.cancel()
            await self._put_back_unfinished()

    async def _consume(self) -> None:
        async with self._bound() as puller:
            self._consumer_created = (await self.store.js.consumer_info(self.store.stream, self.plan.durable)).created
            idle_pulls = 0
            while not self._stopping:
                _raise_if_cancelled()
                if not await self._ready_for_more():
                    continue
                taken = await puller.pull(min(self._free_slots(), self.plan.fetch_batch), PULL_SECONDS)
                if taken:
                    idle_pulls = 0
                    continue
                idle_pulls += 1
                if idle_pulls % 10 == 0:
                    # Raises when the consumer is gone; a slow answer is no reason to unbind.
                    with contextlib.suppress(TimeoutError):
                        await self.store.js.consumer_info(self.store.stream, self.plan.durable)
        # The last pull has expired and the inbox is gone: nothing put back from here on can be
        # delivered to this replica again.
        for msg in self._arrived_while_stopping:
            await _quietly(msg.nak())
        self._unbound.set()
        await asyncio.get_running_loop().create_future()  # until the service cancels this task

    def _free_slots(self) -> int:
        return self.plan.concurrency - len(self._in_flight)

    async def _ready_for_more(self) -> bool:
        """Free slots, and a log that is not overdue: a process that owes it appends takes no new work."""
        if self.store.owed.overdue_reason():
            await asyncio.sleep(OVERDUE_PAUSE_SECONDS)
            return False
        if self._free_slots() <= 0:
            self._slot_free.clear()
            await self._slot_free.wait()
            return False
        return True

    @contextlib.asynccontextmanager
    async def _bound(self):
        """Create or update the durable consumer, and pull from it into an inbox of this worker's.
        Unacknowledged messages go back to the durable consumer when the worker goes."""
        store, plan = self.store, self.plan
        config = js_api.ConsumerConfig(
            durable_name=plan.durable,
            name=plan.durable,
            filter_subject=f"{store.prefix}.{plan.aggregate_type}.>",
            ack_policy=js_api.AckPolicy.EXPLICIT,
            ack_wait=plan.ack_wait,
            max_ack_pending=MAX_ACK_PENDING,
            deliver_policy=js_api.DeliverPolicy.ALL,
            max_waiting=512,
        )
        await _create_or_update(store.js, store.stream, config)
        puller = PullRequests(store, plan.durable, self._take)
        await puller.open()
        try:
            yield puller
        finally:
            await puller.close()

    async def _take(self, msg: Msg) -> None:
        """Start the handler on a message it handles; anything else on the subject is acked on the spot."""
        if self._stopping:
            self._arrived_while_stopping.append(msg)  # put back once the inbox is closed
            return
        try:
            event = Event.FromString(msg.data)
        except DecodeError:
            log.error("undecodable event; dropped", extra={"consumer": self.plan.durable, "subject": msg.subject})
            await _quietly(msg.term())
            return
        if event.WhichOneof("payload") not in self.routes.handlers:
            await _quietly(msg.ack())
            return
        key = self.key(event)
        if key in self._working_on:
            # Delivered again while this process still works on it: a lease that lapsed while NATS
            # was away, or a restarted server redelivering what was pending. The task at work acks
            # it; a second run would act twice.
            await _quietly(msg.in_progress())
            return
        delivery = Delivery(msg, event, msg.metadata.sequence.stream, self._may_have_been_seen(msg))
        point = point_of_no_return.PointOfNoReturn()
        task = asyncio.create_task(
            self._handle(delivery), name=f"{self.plan.durable}-{key}", context=point_of_no_return.watching(point)
        )
        self._in_flight[task] = msg
        self._points[task] = point
        self._working_on[key] = task
        task.add_done_callback(functools.partial(self._finished, key))

    def _finished(self, key: str, task: asyncio.Task) -> None:
        self._in_flight.pop(task, None)
        self._points.pop(task, None)
        if self._working_on.get(key) is task:
            del self._working_on[key]
        self._slot_free.set()

    def _may_have_been_seen(self, msg: Msg) -> bool:
        """Whether anyone may have handled this message before. A first delivery of a message stored
        after the consumer was created has been seen by no one; anything else (a redelivery, or the
        backlog of a consumer created anew) must be checked against the log before acting."""
        born = self._consumer_created
        return msg.metadata.num_delivered > 1 or born is None or msg.metadata.timestamp <= born

    async def _handle(self, delivery: Delivery) -> None:
        try:
            kind = delivery.event.WhichOneof("payload")
            with tracing.span(
                f"{self.plan.durable} {delivery.event.type}", parent=delivery.event.trace_parent, kind="CONSUMER"
            ):
                await self.routes.handlers[kind](delivery, getattr(delivery.event, kind))
        except Requeue as requeue:
            await _quietly(delivery.msg.nak(delay=requeue.delay))
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "handler failed unexpectedly; the message will be redelivered",
                extra={"consumer": self.plan.durable, "stream_seq": delivery.stream_seq},
            )
            await _quietly(delivery.msg.nak(delay=self.plan.retry_delay))
            return
        await _quietly(delivery.msg.ack())

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.plan.ack_wait / 3)
            for msg in list(self._in_flight.values()):
                await _quietly(msg.in_progress())

    # ---- stopping ----

    async def finish_in_flight(self, grace: float) -> None:
        """A graceful stop: take no more work and give what is in flight `grace` seconds to finish.
        What is still unfinished then goes back to the consumer at once, not after ack_wait; but a
        handler past its point of no return (a send SES may already hold: cut off, it would be sent
        again) gets `past_no_return_seconds` more first."""
        self._stopping = True
        self._slot_free.set()  # a consume loop waiting for a free slot sees it
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=grace)
        if not self._in_flight:
            return
        # Put back only once unbound, or the redeliveries would come back to this replica's own
        # pull request and sit there for ack_wait. A fetch ends within a second.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._unbound.wait(), UNBIND_SECONDS)
        await self._let_past_no_return_finish(self.plan.past_no_return_seconds)
        await self._put_back_unfinished()

    async def _let_past_no_return_finish(self, seconds: float) -> None:
        """Put back at once what has not passed its point of no return, and give what has up to
        `seconds`, putting back any that turns out not to have passed it after all (SES refused
        the message: the send would only wait to try again)."""
        loop = asyncio.get_running_loop()
        deadline, told = loop.time() + seconds, False
        while True:
            # No await between sorting them and cancelling the rest: none passes its point meanwhile.
            past = {task for task, point in self._points.items() if point.passed}
            await self._put_back_unfinished(spare=past)
            left = deadline - loop.time()
            if not past or left <= 0:
                return
            if not told:
                told = True
                log.warning(
                    "letting handlers past their point of no return finish",
                    extra={"consumer": self.plan.durable, "count": len(past), "seconds": seconds},
                )
            await asyncio.wait(past, timeout=min(left, PAST_NO_RETURN_RECHECK_SECONDS))

    async def _put_back_unfinished(self, spare: Collection[asyncio.Task] = ()) -> None:
        """Cancel what is in flight (but `spare`) and nak it, so another replica takes it now, not after ack_wait."""
        unfinished = {task: msg for task, msg in self._in_flight.items() if task not in spare}
        await cancel_all(unfinished)  # cancels them all before its first await
        for task, msg in unfinished.items():
            if task.cancelled():  # the others were acked or put back already
                await _quietly(msg.nak())


class PullRequests:
    """Pull requests for a durable consumer that never ask for more than the worker can take now.

    nats-py's `fetch` returns on the first message of a lingering pull while the server goes on
    delivering the rest of the batch into the subscription's queue; a message waiting there is in
    no one's hands, its lease runs out unrenewed, and another replica is given it while this one
    may still take it later: a second send. Here every delivered message goes straight to the
    worker (which renews its lease from then on), and a new request is made only once the last
    one is over, for at most the slots that are free."""

    def __init__(self, store: EventStore, durable: str, take: Callable[[Msg], Awaitable[None]]) -> None:
        self.store = store
        self.take = take
        self.subject = f"$JS.API.CONSUMER.MSG.NEXT.{store.stream}.{durable}"
        self._inbox = ""
        self._subscription: Subscription | None = None
        self._left = 0
        self._over = asyncio.Event()
        self._refusal: str | None = None

    async def open(self) -> None:
        self._inbox = self.store.nc.new_inbox()
        self._subscription = await self.store.nc.subscribe(self._inbox, cb=self._arrived)

    async def close(self) -> None:
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()

    async def pull(self, batch: int, expires: float) -> int:
        """Ask for up to `batch` messages for `expires` seconds; returns how many came."""
        self._left, self._over, self._refusal = batch, asyncio.Event(), None
        request = {"batch": batch, "expires": int(expires * 1e9)}
        await self.store.nc.publish(self.subject, json.dumps(request).encode(), reply=self._inbox)
        with contextlib.suppress(TimeoutError):  # no status at all: the connection was away
            async with asyncio.timeout(expires + PULL_GRACE_SECONDS):
                await self._over.wait()
        if self._refusal:
            raise ConsumerUnavailable(self._refusal)
        return batch - self._left

    async def _arrived(self, msg: Msg) -> None:
        headers = msg.headers or {}
        status = headers.get("Status")
        if status is None:
            self._left -= 1
            if self._left <= 0:
                self._over.set()
            await self.take(msg)  # even one that comes late: it is in hand now
        elif status in ("404", "408"):  # no messages, or the request expired
            self._over.set()
        elif status != "100":  # 409 consumer deleted, max waiting...; 503 no consumer
            self._refusal = f"{status} {headers.get('Description', '')}".strip()
            self._over.set()


class ConsumerUnavailable(Exception):
    """The server refused a pull (the consumer was deleted, or is not there): bind again."""


async def keep_consuming(name: str, consume: Callable[[], Awaitable[None]]) -> None:
    """Run `consume` until cancelled; when it fails (NATS down, consumer lost), wait and bind again."""
    backoff = 0.2
    while True:
        try:
            await consume()
            backoff = 0.2
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("consumer interrupted; binding again", extra={"consumer": name, "error": repr(error)})
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


async def _create_or_update(js: JetStreamContext, stream: str, config: js_api.ConsumerConfig) -> None:
    """The consumer as configured now (a deploy may change ack_wait); an existing one whose settings
    cannot change in place is bound as it is."""
    try:
        await js.add_consumer(stream, config=config)
    except BadRequestError as error:
        log.warning("durable consumer kept as it is", extra={"consumer": config.durable_name, "error": str(error)})


def _raise_if_cancelled() -> None:
    # Python 3.11's asyncio.wait_for (inside nats-py's fetch) can swallow a cancellation that
    # lands as a message arrives; the task stays "cancelling" and would fetch forever.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


async def _quietly(awaitable) -> None:
    try:
        await awaitable
    except Exception:
        pass
