"""SES message id -> dispatch id, from EmailDispatched: feedback that names only SES's id is
still traced to the dispatch that sent it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import Projection

metadata = MetaData()

dispatches = Table(
    "feedback_dispatches",
    metadata,
    Column("ses_message_id", Text, primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("dispatch_id", Text, nullable=False),
    Column("provider_id", String(64), nullable=False),
    Column("trace_parent", Text, nullable=False),  # the dispatch's trace, for feedback to link to
    Index("feedback_dispatches_by_dispatch", "dispatch_id"),
)


class FeedbackDispatchesProjection(Projection):
    name = "feedback.dispatches"
    version = 2
    metadata = metadata

    def new_changes(self) -> dict[str, dict[str, Any]]:
        return {}

    @handles(events_pb2.EmailDispatched)
    def dispatched(
        self, rows: dict[str, dict[str, Any]], stored: StoredEvent, dispatched: events_pb2.EmailDispatched
    ) -> None:
        if dispatched.ses_message_id:
            rows[dispatched.ses_message_id] = {
                "ses_message_id": dispatched.ses_message_id,
                "account_id": stored.event.account_id,
                "dispatch_id": dispatched.dispatch_id,
                "provider_id": dispatched.provider_id,
                "trace_parent": stored.event.trace_parent,
            }

    async def write(self, conn: AsyncConnection, rows: dict[str, dict[str, Any]]) -> None:
        await upsert(conn, dispatches, list(rows.values()), ["ses_message_id"])
