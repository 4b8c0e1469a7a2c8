"""The complaint reactor: a recipient who marks mail as spam is unsubscribed from every list.

It is an entry point like the gRPC servicer, not a projection: it appends events, so it reads
through its OWN durable JetStream consumer (a replay of the read model must never re-run it).
The durable consumer remembers its position across restarts and replicas share it; a complaint
is acknowledged only once its Unsubscribed is durable. A redelivery appends nothing: the address
is already unsubscribed, and the Nats-Msg-Id derived from the complaint's event id drops a retried
publish within JetStream's duplicate window.
"""

from __future__ import annotations

import logging

from services.core.durable_worker import ConsumerPlan, Delivery, DurableWorker, Requeue
from services.core.event_routes import handles
from services.core.generated.postroom.v1 import events_pb2
from services.core.errors import InvalidArgument
from services.core.event_store import EventStore
from services.core.events import Event
from services.unsubscribe import domain, metrics
from services.unsubscribe.application import UnsubscribeApplication

log = logging.getLogger(__name__)

DURABLE_NAME = "unsubscribe-complaints"
FEEDBACK_AGGREGATE = "feedback"
CONCURRENCY = 16
ACK_WAIT_SECONDS = 30.0
RETRY_DELAY_SECONDS = 5.0


class ComplaintReactor:
    def __init__(self, app: UnsubscribeApplication, store: EventStore) -> None:
        self.app = app
        # One recipient's complaints are taken one at a time (the key), different recipients at once.
        plan = ConsumerPlan(
            durable=DURABLE_NAME,
            aggregate_type=FEEDBACK_AGGREGATE,
            concurrency=CONCURRENCY,
            ack_wait=ACK_WAIT_SECONDS,
            retry_delay=RETRY_DELAY_SECONDS,
        )
        self.consumer = DurableWorker(
            store, plan, self, key=lambda event: f"{event.account_id}/{event.complaint_received.recipient_hash}"
        )

    async def run(self) -> None:
        await self.consumer.run()

    async def finish_in_flight(self, grace: float) -> None:
        await self.consumer.finish_in_flight(grace)

    @handles(events_pb2.ComplaintReceived)
    async def unsubscribe_the_complainer(self, delivery: Delivery, _complaint: events_pb2.ComplaintReceived) -> None:
        event = delivery.event
        try:
            await self._unsubscribe(event)
        except InvalidArgument as error:  # retrying cannot help: record why and move on
            log.error("complaint cannot be applied", extra={"error": error.message, "event_id": event.event_id})
        except Exception as error:
            log.warning(
                "complaint not yet applied; will retry", extra={"error": repr(error), "event_id": event.event_id}
            )
            raise Requeue(RETRY_DELAY_SECONDS) from error

    async def _unsubscribe(self, event: Event) -> None:
        metrics.COMPLAINTS_SEEN.inc()
        payload = domain.complaint_unsubscribe(event.complaint_received)
        if payload is None:
            log.warning("complaint without a recipient ignored", extra={"event_id": event.event_id})
            return
        changed = await self.app.unsubscribe_for_complaint(
            event.account_id,
            payload,
            causation_id=event.event_id,
            correlation_id=event.correlation_id or event.event_id,
        )
        log.info(
            "complaint unsubscribed the recipient",
            extra={"account_id": event.account_id, "recipient_hash": payload.recipient_hash, "changed": changed},
        )
