"""Each dispatch's status (queued, its attempts, and its one outcome), and what a listing filters
on: its recipients, tags, list and when it was queued."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.database import update_rows, upsert
from services.core.event_routes import handles
from services.core.events import StoredEvent
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash
from services.core.projection import Projection
from services.dispatch.domain import DISPATCHED, FAILED, QUEUED, SUPPRESSED

metadata = MetaData()

dispatches = Table(
    "dispatch_dispatches",
    metadata,
    Column("dispatch_id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("provider_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("ses_message_id", String(128), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_smtp_reply", Text, nullable=False),
    Column("hint", Text, nullable=False),
    Column("queued_seq", BigInteger, nullable=False),
    Column("list_id", Text, nullable=False),
    Column("queued_at_ms", BigInteger, nullable=False),
    Column("retry_of", String(64), nullable=False),
    Column("sent_by_provider_id", String(64), nullable=False),  # provider_id, or the fallback that sent it
    Index("dispatch_dispatches_by_account", "account_id", "queued_seq"),
)

dispatch_recipients = Table(
    "dispatch_recipients",
    metadata,
    Column("dispatch_id", String(64), primary_key=True),
    Column("recipient_hash", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("recipient", Text, nullable=False),
    Index("dispatch_recipients_by_hash", "account_id", "recipient_hash"),
)

dispatch_tags = Table(
    "dispatch_tags",
    metadata,
    Column("dispatch_id", String(64), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("value", Text, nullable=False),
    Index("dispatch_tags_by_name", "account_id", "name"),
)


@dataclass
class DispatchChanges:
    """One batch: new dispatches (with whatever befell them in the same batch), outcomes and
    attempts of dispatches queued earlier."""

    new_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    recipients: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def outcome(self, dispatch_id: str, values: dict[str, Any]) -> None:
        if dispatch_id in self.new_rows:
            self.new_rows[dispatch_id].update(values)
        else:
            self.outcomes[dispatch_id] = values
            self.attempts.pop(dispatch_id, None)

    def attempt(self, dispatch_id: str, values: dict[str, Any]) -> None:
        if dispatch_id in self.new_rows:
            if self.new_rows[dispatch_id]["status"] == QUEUED:
                self.new_rows[dispatch_id].update(values)
        elif dispatch_id not in self.outcomes:
            self.attempts[dispatch_id] = values


class DispatchesProjection(Projection):
    name = "dispatch.dispatches"
    version = 3  # 2: recipients, tags, list, queue time, retry_of; 3: sent_by_provider_id
    metadata = metadata

    def new_changes(self) -> DispatchChanges:
        return DispatchChanges()

    @handles(events_pb2.EmailQueued)
    def queued(self, changes: DispatchChanges, stored: StoredEvent, queued: events_pb2.EmailQueued) -> None:
        dispatch_id, account_id = stored.event.aggregate_id, stored.event.account_id
        changes.new_rows[dispatch_id] = {
            "dispatch_id": dispatch_id,
            "account_id": account_id,
            "provider_id": queued.provider_id,
            "status": QUEUED,
            "ses_message_id": "",
            "attempts": 0,
            "last_smtp_reply": "",
            "hint": "",
            "queued_seq": stored.stream_seq,
            "list_id": queued.list_id,
            "queued_at_ms": stored.event.occurred_at.ToMilliseconds(),
            "retry_of": queued.retry_of,
            "sent_by_provider_id": "",
        }
        addresses = {recipient_hash(m.address): m.address for m in (*queued.to, *queued.cc, *queued.bcc)}
        changes.recipients += [
            {"dispatch_id": dispatch_id, "recipient_hash": hashed, "account_id": account_id, "recipient": address}
            for hashed, address in addresses.items()
        ]
        changes.tags += [
            {"dispatch_id": dispatch_id, "name": name, "account_id": account_id, "value": value}
            for name, value in queued.tags.items()
        ]

    @handles(events_pb2.DispatchAttemptFailed)
    def attempt_failed(
        self, changes: DispatchChanges, stored: StoredEvent, attempt: events_pb2.DispatchAttemptFailed
    ) -> None:
        changes.attempt(
            stored.event.aggregate_id,
            {"attempts": attempt.attempt, "last_smtp_reply": attempt.smtp_reply, "hint": attempt.hint},
        )

    @handles(events_pb2.EmailDispatched)
    def dispatched(self, changes: DispatchChanges, stored: StoredEvent, sent: events_pb2.EmailDispatched) -> None:
        changes.outcome(
            stored.event.aggregate_id,
            {
                "status": DISPATCHED,
                "ses_message_id": sent.ses_message_id,
                "attempts": sent.attempts,
                "last_smtp_reply": sent.smtp_reply,
                "hint": "",
                "sent_by_provider_id": sent.sent_by_provider_id or sent.provider_id,
            },
        )

    @handles(events_pb2.DispatchFailed)
    def failed(self, changes: DispatchChanges, stored: StoredEvent, failed: events_pb2.DispatchFailed) -> None:
        reply = f"{failed.smtp_code} {failed.smtp_text}".strip() if failed.smtp_code else failed.smtp_text
        changes.outcome(
            stored.event.aggregate_id,
            {
                "status": FAILED,
                "ses_message_id": "",
                "attempts": failed.attempts,
                "last_smtp_reply": reply,
                "hint": failed.hint,
                "sent_by_provider_id": "",
            },
        )

    @handles(events_pb2.EmailSuppressed)
    def suppressed(self, changes: DispatchChanges, stored: StoredEvent, suppressed: events_pb2.EmailSuppressed) -> None:
        changes.outcome(
            stored.event.aggregate_id,
            {
                "status": SUPPRESSED,
                "ses_message_id": "",
                "attempts": 0,
                "last_smtp_reply": "",
                "hint": f"not sent: the recipient is suppressed ({suppressed.reason})",
                "sent_by_provider_id": "",
            },
        )

    async def write(self, conn: AsyncConnection, changes: DispatchChanges) -> None:
        await upsert(conn, dispatches, list(changes.new_rows.values()), ["dispatch_id"])
        await upsert(conn, dispatch_recipients, changes.recipients, ["dispatch_id", "recipient_hash"])
        await upsert(conn, dispatch_tags, changes.tags, ["dispatch_id", "name"])
        await update_rows(
            conn,
            dispatches,
            [{"dispatch_id": dispatch_id, **values} for dispatch_id, values in changes.outcomes.items()],
            ["dispatch_id"],
        )
        # An attempt never overwrites an outcome, even one another replica recorded first.
        await update_rows(
            conn,
            dispatches,
            [
                {"dispatch_id": dispatch_id, "status": QUEUED, **values}
                for dispatch_id, values in changes.attempts.items()
            ],
            ["dispatch_id", "status"],
        )
