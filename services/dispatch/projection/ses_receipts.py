"""Feedback naming a dispatch proves SES accepted its message. A worker that finds the email
queued again (its sender crashed between SES's 250 and the outcome event) reads this first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection

metadata = MetaData()

ses_receipts = Table(
    "dispatch_ses_receipts",
    metadata,
    Column("dispatch_id", String(64), primary_key=True),
    Column("ses_message_id", String(128), nullable=False),
    Column("evidence", String(32), nullable=False),
    Column("stream_seq", BigInteger, nullable=False),
)

Receipts = dict[str, dict[str, Any]]


class SesReceiptsProjection(Projection):
    name = "dispatch.ses_receipts"
    version = 1
    metadata = metadata

    def new_changes(self) -> Receipts:
        return {}

    @handles(events_pb2.BounceReceived)
    def bounce(self, receipts: Receipts, stored: StoredEvent, bounce: events_pb2.BounceReceived) -> None:
        _note(receipts, stored, bounce, "bounce")

    @handles(events_pb2.ComplaintReceived)
    def complaint(self, receipts: Receipts, stored: StoredEvent, complaint: events_pb2.ComplaintReceived) -> None:
        _note(receipts, stored, complaint, "complaint")

    @handles(events_pb2.DeliveryReceived)
    def delivery(self, receipts: Receipts, stored: StoredEvent, delivery: events_pb2.DeliveryReceived) -> None:
        _note(receipts, stored, delivery, "delivery")

    async def write(self, conn: AsyncConnection, receipts: Receipts) -> None:
        await upsert(conn, ses_receipts, list(receipts.values()), ["dispatch_id"])


def _note(receipts: Receipts, stored: StoredEvent, feedback, evidence: str) -> None:
    # The latest feedback is kept, in a batch as across batches: a rebuild, whose batches are cut
    # elsewhere, ends with the same rows.
    if 0 < len(feedback.dispatch_id) <= 64:  # longer is none of ours
        receipts[feedback.dispatch_id] = {
            "dispatch_id": feedback.dispatch_id,
            "ses_message_id": feedback.ses_message_id[:128],
            "evidence": evidence,
            "stream_seq": stored.stream_seq,
        }
