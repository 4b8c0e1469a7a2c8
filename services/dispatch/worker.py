"""The dispatch worker: the shared durable consumer of EmailQueued, each email to one outcome event.

Never twice: every outcome is appended on the dispatch's own subject with the expected sequence
of its EmailQueued, so at most one outcome can ever exist; it is appended until the log
confirms it (leader elections included), and only then is the JetStream message acked. A
message any worker may have seen before is first checked against the subject's last event; a
redelivery is also left alone while another live replica is still sending it. So an email goes
out a second time only when the process that sent it died before recording the outcome.
"""

from __future__ import annotations

import asyncio
import logging

from services.core.durable_worker import ConsumerPlan, Delivery, DurableWorker, Requeue
from services.core.event_routes import handles
from services.core.generated.postroom.v1 import events_pb2
from services.core.event_store import ConcurrencyConflict
from services.core.settings import Settings
from services.dispatch import events
from services.dispatch.context import DispatchContext
from services.dispatch.metrics import IN_FLIGHT, QUEUE_ACK_PENDING, QUEUE_PENDING, REDELIVERIES_LEFT_TO_SENDER, outcomes
from services.dispatch.shared_rate import rate_key
from services.dispatch.replicas import DispatchReplicas, Sender
from services.dispatch.sending import QueuedEmailSender, SendTimings

log = logging.getLogger(__name__)

DURABLE = "dispatch-workers"
SENDER_RECHECK_SECONDS = 2.0  # a redelivery another replica is still sending is looked at again after this
QUEUE_DEPTH_SECONDS = 5.0  # how often the queue's depth is read from the consumer for /metrics


def past_data_seconds(settings: Settings) -> float:
    """How long past the shutdown grace a stopping worker lets a send already past DATA finish:
    the rest of the message and SES's reply, each within the SMTP timeout (the outcome's append,
    milliseconds while the log is up, fits in what they leave)."""
    return 2 * settings.smtp_timeout


class DispatchWorker:
    def __init__(self, context: DispatchContext, timings: SendTimings | None = None) -> None:
        self.context = context
        self.timings = timings or SendTimings.for_settings(context.settings)
        self.sender = QueuedEmailSender(context, self.timings)
        plan = ConsumerPlan(
            durable=DURABLE,
            aggregate_type=events.AGGREGATE,
            concurrency=max(1, context.settings.dispatch_concurrency),
            ack_wait=self.timings.ack_wait,
            retry_delay=self.timings.backoff_cap,
            past_no_return_seconds=past_data_seconds(context.settings),
        )
        self.consumer = DurableWorker(context.store, plan, self)
        self.replicas = DispatchReplicas(context.store, self.consumer.is_working_on)
        IN_FLIGHT.set_function(lambda: self.consumer.in_flight)  # read when scraped, not per email

    async def start(self) -> None:
        await self.replicas.start()

    async def run(self) -> None:
        depth = asyncio.create_task(self._watch_queue_depth(), name="dispatch-queue-depth")
        try:
            await self.consumer.run()
        finally:
            depth.cancel()
            await self.sender.close()

    async def _watch_queue_depth(self) -> None:
        while True:
            try:
                info = await self.context.store.js.consumer_info(self.context.store.stream, DURABLE)
                QUEUE_PENDING.set(info.num_pending or 0)
                QUEUE_ACK_PENDING.set(info.num_ack_pending or 0)
            except Exception as error:  # the consumer not made yet, or the log away: next time
                log.debug("queue depth unread", extra={"error": repr(error)})
            await asyncio.sleep(QUEUE_DEPTH_SECONDS)

    async def finish_in_flight(self, grace: float) -> None:
        await self.consumer.finish_in_flight(grace)

    async def stop(self) -> None:
        await self.replicas.stop()

    @handles(events_pb2.EmailQueued)
    async def send_and_record(self, delivery: Delivery, payload: events_pb2.EmailQueued) -> None:
        """One queued email to its outcome event, durable before the message is acked."""
        queued, seq = delivery.event, delivery.stream_seq
        if delivery.may_have_been_seen and await self._settled_or_taken(delivery):
            return
        outcome = await self.sender.outcome_for(queued, seq, delivery.may_have_been_seen)
        try:
            await self.context.store.append_durably(outcome, expected_sequence=seq, patience=None)
            outcomes(outcome.type, rate_key(queued.account_id, payload.provider_id)).inc()
        except ConcurrencyConflict:
            pass  # another worker recorded the outcome first

    async def _settled_or_taken(self, delivery: Delivery) -> bool:
        """True when the email has its outcome already; Requeue while another replica sends it."""
        last = await self.context.store.last_event(events.AGGREGATE, delivery.event.aggregate_id)
        if last is not None and last.stream_seq != delivery.stream_seq:
            return True  # an outcome exists: send nothing
        if delivery.redelivered:
            sender = await self.replicas.who_sends(delivery.event.aggregate_id)
            if sender is not Sender.NOBODY:
                REDELIVERIES_LEFT_TO_SENDER.inc()
                raise Requeue(SENDER_RECHECK_SECONDS, sender.value)
        return False
