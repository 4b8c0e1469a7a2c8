"""The SNS MessageIds already recorded, so a retry that comes after JetStream's two-minute
duplicate window is still recognised."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection

metadata = MetaData()

sns_messages = Table(
    "feedback_sns_messages",
    metadata,
    Column("provider_id", String(64), primary_key=True),
    Column("sns_message_id", String(100), primary_key=True),
    Column("stream_seq", BigInteger, nullable=False),
)

Recorded = dict[tuple[str, str], int]  # (provider id, SNS MessageId) -> stream sequence


class SnsMessagesProjection(Projection):
    name = "feedback.sns_messages"
    version = 1
    metadata = metadata

    def new_changes(self) -> Recorded:
        return {}

    @handles(events_pb2.BounceReceived)
    def bounce(self, recorded: Recorded, stored: StoredEvent, bounce: events_pb2.BounceReceived) -> None:
        recorded[(bounce.provider_id, bounce.sns_message_id)] = stored.stream_seq

    @handles(events_pb2.ComplaintReceived)
    def complaint(self, recorded: Recorded, stored: StoredEvent, complaint: events_pb2.ComplaintReceived) -> None:
        recorded[(complaint.provider_id, complaint.sns_message_id)] = stored.stream_seq

    @handles(events_pb2.DeliveryReceived)
    def delivery(self, recorded: Recorded, stored: StoredEvent, delivery: events_pb2.DeliveryReceived) -> None:
        recorded[(delivery.provider_id, delivery.sns_message_id)] = stored.stream_seq

    @handles(events_pb2.SnsSubscriptionConfirmed)
    def confirmed(
        self, recorded: Recorded, stored: StoredEvent, confirmed: events_pb2.SnsSubscriptionConfirmed
    ) -> None:
        recorded[(confirmed.provider_id, confirmed.sns_message_id)] = stored.stream_seq

    @handles(events_pb2.SnsUnsubscribeReceived)
    def unsubscribe_received(
        self, recorded: Recorded, stored: StoredEvent, received: events_pb2.SnsUnsubscribeReceived
    ) -> None:
        recorded[(received.provider_id, received.sns_message_id)] = stored.stream_seq

    async def write(self, conn: AsyncConnection, recorded: Recorded) -> None:
        await upsert(
            conn,
            sns_messages,
            [
                {"provider_id": provider_id, "sns_message_id": message_id, "stream_seq": seq}
                for (provider_id, message_id), seq in recorded.items()
            ],
            ["provider_id", "sns_message_id"],
        )
