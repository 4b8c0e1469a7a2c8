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

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js import api as js_api

from services.core.durable_consumer import durable_pull, fetch_batch, keep_consuming
from services.core.errors import InvalidArgument
from services.core.event_store import EventStore
from services.core.events import Event
from services.unsubscribe import domain, metrics
from services.unsubscribe.application import UnsubscribeApplication

log = logging.getLogger(__name__)

DURABLE_NAME = "unsubscribe-complaints"
FEEDBACK_AGGREGATE = "feedback"
BATCH = 100
RETRY_DELAY_SECONDS = 5.0


class ComplaintReactor:
    def __init__(self, app: UnsubscribeApplication, store: EventStore, *, fetch_timeout: float = 1.0) -> None:
        self.app = app
        self.store = store
        self.fetch_timeout = fetch_timeout

    async def run(self) -> None:
        await keep_consuming(DURABLE_NAME, self._consume)

    async def _consume(self) -> None:
        config = js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.ALL,
                                       ack_policy=js_api.AckPolicy.EXPLICIT, ack_wait=30.0)
        async with durable_pull(self.store, FEEDBACK_AGGREGATE, DURABLE_NAME, config) as subscription:
            while True:
                for message in await fetch_batch(subscription, BATCH, self.fetch_timeout):
                    await self._handle(message)

    async def _handle(self, message: Msg) -> None:
        try:
            event = Event.FromString(message.data)
        except DecodeError:
            log.error("undecodable feedback event skipped", extra={"subject": message.subject})
            await message.ack_sync()
            return
        if event.WhichOneof("payload") == "complaint_received":
            try:
                await self._unsubscribe(event)
            except InvalidArgument as error:     # retrying cannot help: record why and move on
                log.error("complaint cannot be applied", extra={"error": error.message, "event_id": event.event_id})
            except Exception as error:
                log.warning("complaint not yet applied; will retry", extra={"error": repr(error),
                                                                            "event_id": event.event_id})
                await message.nak(delay=RETRY_DELAY_SECONDS)
                return
        await message.ack_sync()

    async def _unsubscribe(self, event: Event) -> None:
        metrics.COMPLAINTS_SEEN.inc()
        payload = domain.complaint_unsubscribe(event.complaint_received)
        if payload is None:
            log.warning("complaint without a recipient ignored", extra={"event_id": event.event_id})
            return
        changed = await self.app.unsubscribe_for_complaint(
            event.account_id, payload, causation_id=event.event_id,
            correlation_id=event.correlation_id or event.event_id)
        log.info("complaint unsubscribed the recipient", extra={
            "account_id": event.account_id, "recipient_hash": payload.recipient_hash, "changed": changed})
