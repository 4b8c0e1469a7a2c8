"""Re-queueing FAILED dispatches (RetryDispatches): each as a new dispatch linked to the original.

The new dispatch's id comes from the retry key and the original's id, so a repeated call (the
same key, the same originals) finds its dispatches already queued and sends nothing twice. The
original keeps its FAILED status and history; the new one carries `retry_of`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from services.core.email_address import text_problem
from services.core.errors import (
    FailedPrecondition,
    FieldViolation,
    NotFound,
    PostroomError,
    PreconditionViolation,
    Unavailable,
    require,
)
from services.core.event_store import NEW_AGGREGATE, Appended, ConcurrencyConflict, LogUnavailable, PendingAppend
from services.dispatch import domain, events
from services.dispatch.context import DispatchContext
from services.dispatch.domain import FAILED, QUEUED
from services.dispatch.listing import MAX_RETRIED_PER_CALL, DispatchFilter, retry_idempotency_key

MAX_RETRY_KEY_CHARS = domain.MAX_KEY_CHARS - 80  # room for "retry:" and the original's id
READ_CONCURRENCY = 32  # originals whose EmailQueued is read at once


@dataclass(frozen=True)
class Retried:
    original_dispatch_id: str
    dispatch_id: str = ""
    status: str = ""
    error: PostroomError | None = None


class FailedDispatchRetries:
    def __init__(self, context: DispatchContext) -> None:
        self.context = context

    async def retry(
        self, account_id: str, retry_key: str, dispatch_ids: list[str], wanted: DispatchFilter | None
    ) -> list[Retried]:
        require(_request_violations(account_id, retry_key, dispatch_ids, wanted))
        originals = await (self._by_filter(account_id, wanted) if wanted else self._by_id(account_id, dispatch_ids))
        found = [row for row in originals if isinstance(row, dict)]
        queued = await self._requeue(account_id, retry_key, found)
        return [queued[row["dispatch_id"]] if isinstance(row, dict) else row for row in originals]

    async def _by_id(self, account_id: str, dispatch_ids: list[str]) -> list[dict | Retried]:
        originals: list[dict | Retried] = []
        rows = await self.context.read_model.dispatches_by_id(dict.fromkeys(dispatch_ids))
        for dispatch_id in dict.fromkeys(dispatch_ids):
            row = rows.get(dispatch_id)
            if row is None or row["account_id"] != account_id:
                originals.append(Retried(dispatch_id, error=NotFound(f"dispatch {dispatch_id} not found")))
            elif row["status"] != FAILED:
                originals.append(
                    Retried(
                        dispatch_id,
                        error=FailedPrecondition(
                            f"dispatch {dispatch_id} is {row['status']}: only FAILED dispatches are retried",
                            [PreconditionViolation("NOT_FAILED", f"dispatch_ids[{dispatch_id}]", row["status"])],
                        ),
                    )
                )
            else:
                originals.append(row)
        return originals

    async def _by_filter(self, account_id: str, wanted: DispatchFilter) -> list[dict | Retried]:
        failed = replace(wanted, statuses=(FAILED,))
        rows = await self.context.read_model.list_dispatches(account_id, failed, MAX_RETRIED_PER_CALL + 1)
        if len(rows) > MAX_RETRIED_PER_CALL:
            raise FailedPrecondition(
                f"the filter matches more than {MAX_RETRIED_PER_CALL} FAILED dispatches: narrow it "
                "(for example with queued_before) and retry each part with its own retry_key",
                [PreconditionViolation("TOO_MANY", "filter", f"more than {MAX_RETRIED_PER_CALL}")],
            )
        return list(rows)

    async def _requeue(self, account_id: str, retry_key: str, rows: list[dict]) -> dict[str, Retried]:
        gate = asyncio.Semaphore(READ_CONCURRENCY)
        digests = await self.context.read_model.content_digests_of(row["dispatch_id"] for row in rows)
        held = await self.context.content.held_each(set().union(*digests.values()))

        async def checked(row: dict) -> Retried | tuple[str, str, PendingAppend]:
            async with gate:
                content_held = all(held[digest] for digest in digests.get(row["dispatch_id"], ()))
                return await self._requeued_event(account_id, retry_key, row, content_held)

        results: dict[str, Retried] = {}
        pending: list[tuple[str, str, PendingAppend]] = []
        outcome: Retried | tuple[str, str, PendingAppend] | Appended | Exception  # of each loop below
        for outcome in await asyncio.gather(*(checked(row) for row in rows)):
            if isinstance(outcome, Retried):
                results[outcome.original_dispatch_id] = outcome
            else:
                pending.append(outcome)
        appended = await self.context.store.append_many_durably(
            [item for _, _, item in pending], patience=self.context.settings.append_patience
        )
        for (original_id, new_id, _), outcome in zip(pending, appended):
            results[original_id] = await self._result(original_id, new_id, outcome)
        return results

    async def _requeued_event(
        self, account_id: str, retry_key: str, row: dict, content_held: bool
    ) -> Retried | tuple[str, str, PendingAppend]:
        """(original id, new id, the EmailQueued to append) for one FAILED dispatch, or why it cannot be retried."""
        original = await self.context.store.patiently(
            lambda: self.context.store.event_at(row["queued_seq"]), self.context.settings.append_patience
        )
        if original is None or original.event.WhichOneof("payload") != "email_queued":
            return Retried(
                row["dispatch_id"],
                error=FailedPrecondition(
                    f"dispatch {row['dispatch_id']}: its EmailQueued is no longer in the event log"
                ),
            )
        if not content_held:
            return Retried(
                row["dispatch_id"],
                error=FailedPrecondition(
                    f"dispatch {row['dispatch_id']}: its bodies or attachments were removed from the content store "
                    "(POSTROOM_CONTENT_RETENTION_DAYS after its outcome): send the email again instead",
                    [PreconditionViolation("CONTENT_REMOVED", f"dispatch_ids[{row['dispatch_id']}]", "content")],
                ),
            )
        key = retry_idempotency_key(retry_key, row["dispatch_id"])
        new_id = domain.dispatch_id_for(account_id, key)
        return (
            row["dispatch_id"],
            new_id,
            PendingAppend(events.requeued_event(original.event, new_id, key), NEW_AGGREGATE),
        )

    async def _result(self, original_id: str, new_id: str, outcome) -> Retried:
        if isinstance(outcome, ConcurrencyConflict):  # this key re-queued it before
            row = await self.context.read_model.dispatch(new_id)
            return Retried(original_id, new_id, row["status"] if row else QUEUED)
        if isinstance(outcome, LogUnavailable):
            return Retried(
                original_id,
                error=Unavailable(
                    f"{outcome.message.split(';')[0]}; retry with the same retry_key: that never queues an email twice"
                ),
            )
        if isinstance(outcome, Exception):
            return Retried(original_id, error=FailedPrecondition(f"the event log did not accept the retry: {outcome}"))
        return Retried(original_id, new_id, QUEUED)


def _request_violations(
    account_id: str, retry_key: str, dispatch_ids: list[str], wanted: DispatchFilter | None
) -> list[FieldViolation]:
    violations = domain.identity_violations(account_id, "p")
    if not retry_key:
        violations.append(FieldViolation("retry_key", "is required: the same key never re-queues a dispatch twice"))
    elif problem := text_problem(retry_key, max_length=MAX_RETRY_KEY_CHARS):
        violations.append(FieldViolation("retry_key", problem))
    if bool(dispatch_ids) == (wanted is not None):
        violations.append(
            FieldViolation(
                "dispatch_ids",
                "give either dispatch_ids or a filter, not both" if dispatch_ids else "give dispatch_ids or a filter",
            )
        )
    if len(dispatch_ids) > MAX_RETRIED_PER_CALL:
        violations.append(FieldViolation("dispatch_ids", f"at most {MAX_RETRIED_PER_CALL} per call"))
    if wanted is not None and set(wanted.statuses) - {FAILED}:
        violations.append(FieldViolation("filter.statuses", "a retry covers FAILED dispatches only"))
    return violations
