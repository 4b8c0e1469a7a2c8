"""The dispatch worker: a shared durable pull consumer of EmailQueued, sending over SMTP.

Never twice: every outcome event is appended on the dispatch's own subject with the expected
sequence of its EmailQueued, so at most one outcome can ever exist, and the JetStream message is
acked only once that append is durable. A redelivery (crash, restart, another replica) first
looks at the subject's last event and sends nothing when an outcome is there; nor when SES's
feedback already names the dispatch (its sender died between SES's 250 and the outcome event).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js import api as js_api

from services.core.durable_consumer import durable_pull, fetch_batch, keep_consuming
from services.core.event_store import ConcurrencyConflict
from services.core.events import Event
from services.core.ids import recipient_hash
from services.core.settings import Settings
from services.core.tls import client_context
from services.dispatch import domain, events
from services.dispatch.context import DispatchContext, LiveAttempt
from services.dispatch.domain import Diagnosis, ProviderConfig, SmtpOutcome, Verdict
from services.dispatch.message import BuiltMessage, Sender, UnsafeHeader, build_message
from services.dispatch.metrics import IN_FLIGHT, QUEUE_TO_SENT, outcomes, smtp_replies
from services.dispatch.projection import SuppressionChecks
from services.dispatch.providers import ProviderHealth, ProviderLookup
from services.dispatch.smtp import ProviderConnections
from services.dispatch.suppression import suppression_reason

log = logging.getLogger(__name__)

DURABLE = "dispatch-workers"
FETCH_BATCH = 256
READ_MODEL_WAIT_SECONDS = 30.0
UNBIND_SECONDS = 3.0          # a stopping worker's last fetch (1 s) ends and the consumer is unbound


@dataclass(frozen=True)
class WorkerTimings:
    """Delays that tests shorten; production uses the defaults."""

    ack_wait: float = 60.0               # a crashed worker's mail is redelivered after this
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    paused_recheck: float = 10.0         # how soon a paused provider's mail is looked at again

    @classmethod
    def for_settings(cls, settings: Settings) -> "WorkerTimings":
        # A lease of a few SMTP timeouts unless set: a live worker renews it every third, so it
        # never lapses under a slow send, and a dead worker's mail moves on soon.
        return cls(ack_wait=settings.dispatch_ack_wait or max(5.0, 4 * settings.smtp_timeout))


class Requeue(Exception):
    """Leave the message for later (paused provider, read model behind): nak with a delay."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"requeue in {delay:.1f}s")
        self.delay = delay


class DispatchWorker:
    def __init__(self, context: DispatchContext, timings: WorkerTimings | None = None) -> None:
        self.context = context
        self.timings = timings or WorkerTimings.for_settings(context.settings)
        self.concurrency = max(1, context.settings.dispatch_concurrency)
        self.health = ProviderHealth()
        self.suppressions = SuppressionChecks(context.read_model)
        self._pools: dict[tuple[str, str], ProviderConnections] = {}
        self._in_flight: dict[asyncio.Task, Msg] = {}
        self._working_on: dict[str, asyncio.Task] = {}      # dispatch id -> the task sending it
        self._slot_free = asyncio.Event()
        self._stopping = False
        self._unbound = asyncio.Event()
        self._consumer_created: datetime | None = None
        IN_FLIGHT.set_function(lambda: len(self._in_flight))    # read when scraped, not per email

    # ---- consuming ----

    async def run(self) -> None:
        """Consume until cancelled; a lost consumer (NATS restart, network) is bound again."""
        heartbeat = asyncio.create_task(self._renew_leases(), name="dispatch-leases")
        try:
            await keep_consuming(DURABLE, self._consume)
        finally:
            heartbeat.cancel()
            await self._drain()

    async def _consume(self) -> None:
        config = js_api.ConsumerConfig(
            ack_policy=js_api.AckPolicy.EXPLICIT, ack_wait=self.timings.ack_wait,
            max_ack_pending=self.concurrency * self.context.settings.dispatch_processes,
            deliver_policy=js_api.DeliverPolicy.ALL, max_waiting=512)
        arrived_while_stopping: list[Msg] = []
        async with durable_pull(self.context.store, events.AGGREGATE, DURABLE, config) as subscription:
            self._consumer_created = (await subscription.consumer_info()).created
            idle_fetches = 0
            while not self._stopping:
                _raise_if_cancelled()
                free = self.concurrency - len(self._in_flight)
                if free <= 0:
                    self._slot_free.clear()
                    await self._slot_free.wait()
                    continue
                messages = await fetch_batch(subscription, min(free, FETCH_BATCH), timeout=1.0)
                if not messages:
                    idle_fetches += 1
                    if idle_fetches % 10 == 0:
                        # Raises when the consumer is gone; a slow answer is no reason to unbind.
                        with contextlib.suppress(TimeoutError):
                            await subscription.consumer_info()
                    continue
                idle_fetches = 0
                for msg in messages:
                    if self._stopping:
                        arrived_while_stopping.append(msg)
                    else:
                        await self._take(msg)
        # Unbound: nothing put back from here on can be redelivered to this replica's pull requests.
        for msg in arrived_while_stopping:
            await _quietly(msg.nak())
        self._unbound.set()
        await asyncio.get_running_loop().create_future()    # until the service cancels this task

    async def _take(self, msg: Msg) -> None:
        """Start sending a queued email; anything else on a dispatch subject (its outcome, which
        this consumer sees too) is acknowledged on the spot, without a task of its own."""
        try:
            event = Event.FromString(msg.data)
        except DecodeError:
            log.error("undecodable event on a dispatch subject; dropped", extra={"subject": msg.subject})
            await _quietly(msg.term())
            return
        if event.WhichOneof("payload") != "email_queued":
            await _quietly(msg.ack())
            return
        if event.aggregate_id in self._working_on:
            # Delivered again while this process still sends it: a lease that lapsed while NATS
            # was away, or a restarted server redelivering what was pending. The task at work
            # acks it; a second send would be a duplicate.
            await _quietly(msg.in_progress())
            return
        task = asyncio.create_task(self._handle(msg, event))
        self._in_flight[task] = msg
        self._working_on[event.aggregate_id] = task
        task.add_done_callback(functools.partial(self._finished, event.aggregate_id))

    def _finished(self, dispatch_id: str, task: asyncio.Task) -> None:
        self._in_flight.pop(task, None)
        if self._working_on.get(dispatch_id) is task:
            del self._working_on[dispatch_id]
        self._slot_free.set()

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.timings.ack_wait / 3)
            for msg in list(self._in_flight.values()):
                try:
                    await msg.in_progress()
                except Exception:
                    pass

    async def finish_in_flight(self, grace: float) -> None:
        """A graceful stop: take no more mail and give the sends in flight `grace` seconds to
        reach their outcome, since a send cut off mid-DATA may already be with SES and would be
        sent again. What is still unfinished then goes back to the queue at once."""
        self._stopping = True
        self._slot_free.set()                    # a consume loop waiting for a free slot sees it
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=grace)
        if self._in_flight:
            # Put back only once unbound, or the redeliveries would come back to this replica's
            # own pull request and sit there for ack_wait. A fetch ends within a second.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._unbound.wait(), UNBIND_SECONDS)
            await self._put_back_unfinished()

    async def _put_back_unfinished(self) -> None:
        """Cancel what is in flight and nak it, so another replica takes it now, not after ack_wait."""
        unfinished = dict(self._in_flight)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        for task, msg in unfinished.items():
            if task.cancelled():                 # the others were acked or put back already
                await _quietly(msg.nak())

    async def _drain(self) -> None:
        await self._put_back_unfinished()
        for pool in self._pools.values():
            await pool.close()

    async def _handle(self, msg: Msg, event: Event) -> None:
        try:
            await self._process(msg, event)
        except Requeue as requeue:
            await _quietly(msg.nak(delay=requeue.delay))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("dispatch failed unexpectedly; the message will be redelivered")
            await _quietly(msg.nak(delay=self.timings.backoff_cap))

    # ---- one queued email ----

    def _may_have_been_seen(self, msg: Msg) -> bool:
        """Whether any worker may have handled this message before. A first delivery of a message
        stored after the consumer was created has been seen by no one; anything else (a
        redelivery, or the backlog of a consumer created anew) is checked against the log."""
        born = self._consumer_created
        return msg.metadata.num_delivered > 1 or born is None or msg.metadata.timestamp <= born

    async def _process(self, msg: Msg, event: Event) -> None:
        seq = msg.metadata.sequence.stream
        attempts_made = 0
        seen = self._may_have_been_seen(msg)
        if seen:
            last = await self.context.store.last_event(events.AGGREGATE, event.aggregate_id)
            if last is not None and last.stream_seq != seq:
                await msg.ack()                  # an outcome exists already: send nothing
                return
            attempts_made = await self._attempts_made(event.aggregate_id)
        try:
            outcome = await self._outcome_for(event, seq, attempts_made, seen)
        finally:
            self.context.live.by_dispatch.pop(event.aggregate_id, None)
        try:
            await self.context.store.append(outcome, expected_sequence=seq)
            outcomes(outcome.type).inc()
        except ConcurrencyConflict:
            pass                                 # another worker recorded the outcome first
        await msg.ack()

    async def _attempts_made(self, dispatch_id: str) -> int:
        """Attempts an earlier delivery made (a worker that crashed or lost its lease): the
        configured number of attempts holds across redeliveries, not per delivery."""
        last = await self.context.store.last_event(events.ATTEMPTS, dispatch_id)
        return last.event.dispatch_attempt_failed.attempt if last is not None else 0

    async def _outcome_for(self, queued: Event, seq: int, attempts_made: int, seen: bool) -> Event:
        request = events.request_of(queued)
        lookup = await self._provider_as_of(queued.account_id, request.provider_id, seq)
        if lookup.config is None:
            reason = lookup.problem or "the provider was deleted or never saved"
            return events.failed_event(queued, None, _fixed_diagnosis(f"Dispatch Failed: {reason}",
                                       "Save the provider again (or send through another one)."), 0)
        if lookup.paused_reason:
            self.context.live.by_dispatch[queued.aggregate_id] = LiveAttempt(hint=lookup.paused_reason)
            raise Requeue(self.timings.paused_recheck)
        entries = await self.suppressions.entries(
            queued.account_id, [recipient_hash(m.address) for m in request.recipients])
        if seen and (receipt := await self.context.read_model.ses_receipt(queued.aggregate_id)):
            # Read after the suppressions: feedback that suppressed a recipient is in the same
            # projection batch as its receipt, so an email SES bounced is not called SUPPRESSED.
            return events.dispatched_per_feedback(queued, receipt["ses_message_id"], receipt["evidence"],
                                                  attempts_made)
        kept = tuple(m for m in request.recipients
                     if suppression_reason(entries.get(recipient_hash(m.address), []), request.list_id) is None)
        if not kept:
            first = recipient_hash(request.recipients[0].address)
            return events.suppressed_event(queued, first, suppression_reason(entries[first], request.list_id) or "")
        return await self._send(queued, request, lookup.config, kept, attempts_made)

    async def _provider_as_of(self, account_id: str, provider_id: str, seq: int) -> ProviderLookup:
        """The read model must hold everything before the EmailQueued: a bounce or an unsubscribe
        recorded before the email was queued must stop it, however far behind this replica is."""
        if not await self.context.runner.wait_for(seq, READ_MODEL_WAIT_SECONDS):
            raise Requeue(1.0)
        return await self.context.providers.get(account_id, provider_id)

    async def _send(self, queued: Event, request: domain.EmailRequest, config: ProviderConfig,
                    kept: tuple[domain.Mailbox, ...], attempts_made: int) -> Event:
        message = self._message_for(queued, request, config, kept)
        if isinstance(message, Event):
            return message                       # refused before any SMTP work
        return await self._attempt_until_done(queued, message, config, attempts_made)

    def _message_for(self, queued: Event, request: domain.EmailRequest, config: ProviderConfig,
                     kept: tuple[domain.Mailbox, ...]) -> BuiltMessage | Event:
        """The message to send, or the DispatchFailed that refuses it before SMTP."""
        try:
            message = build_message(
                request, dispatch_id=queued.aggregate_id, sender=Sender(config.from_address, config.from_name),
                now=datetime.now(timezone.utc), recipients=kept,
                unsubscribe_headers=self.context.unsubscribe.headers_for(request, queued.aggregate_id,
                                                                         kept[0].address))
        except UnsafeHeader as error:
            return events.failed_event(queued, None, _fixed_diagnosis(
                f"Dispatch Failed: {error}", "Remove line breaks from the provider's From name and address."), 0)
        if len(message.data) > config.max_message_bytes:
            outcome = SmtpOutcome(552, f"message is {len(message.data)} bytes; the provider accepts "
                                       f"{config.max_message_bytes} (refused before sending)")
            return events.failed_event(queued, outcome, domain.diagnose(outcome), 0)
        return message

    async def _attempt_until_done(self, queued: Event, message: BuiltMessage, config: ProviderConfig,
                                  attempts_made: int) -> Event:
        """Send, retrying 4xx with backoff, until delivered, refused for good, or out of attempts."""
        pool = self._pool_for(config)
        live = self.context.live.by_dispatch.setdefault(queued.aggregate_id, LiveAttempt())
        attempt = attempts_made
        while True:
            attempt += 1
            live.attempts = attempt
            outcome = await pool.send(message)
            diagnosis = domain.diagnose(outcome)
            smtp_replies(str(outcome.code)).inc()
            live.last_reply, live.hint = outcome.reply, diagnosis.hint
            if diagnosis.verdict is Verdict.DELIVERED:
                self.health.succeeded(config)
                QUEUE_TO_SENT.observe(max(0.0, time.time() - queued.occurred_at.ToNanoseconds() / 1e9))
                return events.dispatched_event(queued, outcome, attempt, message.recipients)
            if diagnosis.verdict is Verdict.PROVIDER_DOWN:
                await self._provider_failed(config, outcome, diagnosis)
            if diagnosis.verdict is Verdict.FAILED or attempt >= self.context.settings.dispatch_max_attempts:
                return events.failed_event(queued, outcome, diagnosis, attempt)
            await self._record_attempt(events.attempt_failed_event(queued, outcome, diagnosis, attempt))
            await asyncio.sleep(domain.backoff_seconds(attempt, base=self.timings.backoff_base,
                                                       cap=self.timings.backoff_cap, jitter=random.random()))

    async def _record_attempt(self, attempt: Event) -> None:
        """Tell every replica's read model (GetDispatch) about a retry; the outcome event is what
        counts, so a log that cannot take this note now does not hold the email up."""
        try:
            await self.context.store.append(attempt)
        except Exception as error:
            log.warning("a failed attempt was not recorded", extra={"dispatch_id": attempt.aggregate_id,
                                                                    "error": repr(error)})

    async def _provider_failed(self, config: ProviderConfig, outcome: SmtpOutcome, diagnosis: Diagnosis) -> None:
        """The provider, not this email, is at fault: the email waits, and enough failures in a
        row pause the provider so its queue is not burnt through with the same error."""
        failures = self.health.failed(config)
        if failures >= self.context.settings.pause_after_failures:
            reason = domain.paused_reason(failures, diagnosis)
            if not (await self.context.providers.get(config.account_id, config.provider_id)).paused_reason:
                self.context.providers.pause_locally(config, reason)
                pool = self._pools.get((config.account_id, config.provider_id))
                if pool is not None and pool.provider.saved_seq == config.saved_seq:
                    pool.pause(outcome)          # the sends queued for a connection stay away from SES too
                paused = events.paused_event(config.account_id, config.provider_id, reason, failures)
                await self.context.store.append(paused)
                log.warning("provider paused", extra={"provider_id": config.provider_id, "failures": failures})
            raise Requeue(self.timings.paused_recheck)
        raise Requeue(domain.backoff_seconds(failures, base=self.timings.backoff_base, cap=self.timings.backoff_cap,
                                             jitter=random.random()))

    def _pool_for(self, config: ProviderConfig) -> ProviderConnections:
        key = (config.account_id, config.provider_id)
        pool = self._pools.get(key)
        if pool is None or pool.provider.saved_seq != config.saved_seq:
            if pool is not None:
                asyncio.get_running_loop().create_task(pool.close())
            rate = domain.process_share_of_rate(config.max_send_rate, self.context.settings.dispatch_processes)
            pool = ProviderConnections(config, rate=rate, timeout=self.context.settings.smtp_timeout,
                                       tls_context=client_context(self.context.settings.smtp_ca_file))
            self._pools[key] = pool
        return pool


def _raise_if_cancelled() -> None:
    # Python 3.11's asyncio.wait_for (inside nats-py's fetch) can swallow a cancellation that
    # lands as a message arrives; the task stays "cancelling" and would fetch forever.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


def _fixed_diagnosis(message: str, hint: str) -> Diagnosis:
    return Diagnosis(Verdict.FAILED, domain.Case.REJECTED, message, hint)


async def _quietly(awaitable) -> None:
    try:
        await awaitable
    except Exception:
        pass
