"""Dispatch use cases: accept emails, read a dispatch, send a test email, read suppressions."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from services.core.content_store import reference_of
from services.core.email_address import address_problem, text_problem
from services.core.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PostroomError,
    PreconditionViolation,
    Unavailable,
    require,
)
from services.core.event_store import HEADROOM_BYTES, NEW_AGGREGATE, ConcurrencyConflict, LogUnavailable, PendingAppend
from services.core.events import Event
from services.core.ids import is_subject_token, recipient_hash
from services.core.projection import READ_YOUR_WRITES_SECONDS
from services.core.tls import client_context
from services.dispatch import domain, events, listing, rate_limit
from services.dispatch.acceptance_budget import AcceptanceBudget
from services.dispatch.context import DispatchContext
from services.dispatch.metrics import ACCEPTANCE_WAITS
from services.dispatch.attachments import attachment_violations
from services.dispatch.content import log_size_violation, too_large_violation
from services.dispatch.domain import SENDING, Diagnosis, EmailRequest, Mailbox, ProviderConfig
from services.dispatch.email_content import Resolved
from services.dispatch.listing import DispatchFilter
from services.dispatch.message import Sender, UnsafeHeader, build_message, message_size_bound
from services.dispatch.projection import QUEUED
from services.dispatch.shared_rate import rate_key
from services.dispatch.smtp import send_once
from services.core.suppression_rule import gravest_entry, suppression_reason
from services.dispatch.projection.suppressions import as_utc

TEST_SUBJECT = "Postroom test email"
TEST_BODY = (
    "This is a test email from Postroom. If you can read it, your Amazon SES provider settings work: "
    "Postroom can log in to SES and SES accepted the message.\n"
)


@dataclass(frozen=True)
class Accepted:
    dispatch_id: str
    status: str


@dataclass(frozen=True)
class DispatchView:
    account_id: str
    dispatch_id: str
    provider_id: str
    status: str
    ses_message_id: str
    attempts: int
    last_smtp_reply: str
    hint: str
    provider_paused_reason: str
    waiting_reason: str = ""
    recipients: tuple[str, ...] = ()
    list_id: str = ""
    queued_at_ms: int = 0
    retry_of: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    content_held: bool = True
    sent_by_provider_id: str = ""


@dataclass(frozen=True)
class Uploaded:
    reference: str
    size: int


@dataclass(frozen=True)
class Resumed:
    provider_id: str
    lifted: tuple[str, ...]
    still_paused_reason: str


@dataclass(frozen=True)
class TestResult:
    delivered: bool
    ses_message_id: str
    smtp_code: int
    smtp_reply: str
    case: str
    hint: str


@dataclass(frozen=True)
class SuppressionView:
    account_id: str
    recipient_hash: str
    suppressed: bool
    reason: str
    list_id: str
    recipient: str
    since: datetime | None = None


class DispatchApplication:
    def __init__(self, context: DispatchContext) -> None:
        self.context = context
        self.accepting = AcceptanceBudget(context.settings.dispatch_accepting_emails, ACCEPTANCE_WAITS.inc)

    # ---- accepting ----

    async def send_emails(self, requests: Iterable[EmailRequest], *, count: int) -> list[Accepted | PostroomError]:
        """Each request is accepted once its content is stored and then its EmailQueued is durable;
        each gets its own result. Content first: an EmailQueued never names content not held.
        The `count` requests are read once there is room to accept them (`AcceptanceBudget`): a
        batch's conversion from its protos is held within it too."""
        async with self.accepting.holding(count):
            return await self._accept(list(requests))

    async def _accept(self, requests: list[EmailRequest]) -> list[Accepted | PostroomError]:
        results: list[Accepted | PostroomError | None] = [None] * len(requests)
        checked: list[tuple[int, str, Event, Resolved]] = []
        configs: dict[tuple[str, str], ProviderConfig | PostroomError] = {}
        for index, request in enumerate(requests):
            try:
                checked.append((index, *await self._queued_event(request, configs)))
            except PostroomError as error:
                results[index] = error
        pending = []
        stored = await self.context.content.store_all([resolved for *_, resolved in checked])
        for (index, dispatch_id, event, _), failure in zip(checked, stored):
            if failure is None:
                pending.append((index, dispatch_id, event))
            else:
                results[index] = _content_not_stored(failure)
        appended = await self.context.store.append_many_durably(
            [PendingAppend(event, NEW_AGGREGATE) for _, _, event in pending],
            patience=self.context.settings.append_patience,
        )
        for (index, dispatch_id, _), outcome in zip(pending, appended):
            results[index] = await self._result(requests[index], dispatch_id, outcome)
        return results  # type: ignore[return-value]

    async def _queued_event(self, request: EmailRequest, configs: dict) -> tuple[str, Event, Resolved]:
        """The request checked, and its EmailQueued (naming content not stored yet)."""
        content = self.context.content
        resolved = await content.resolve(request)
        await self._check(resolved, configs)
        dispatch_id = domain.dispatch_id_for(request.account_id, request.idempotency_key)
        event = events.queued_event(resolved.request, dispatch_id, content.refs_for(resolved))
        limit = self.context.store.nc.max_payload - HEADROOM_BYTES
        if event.ByteSize() > limit:
            raise InvalidArgument([log_size_violation(event.ByteSize(), limit)])
        return dispatch_id, event, resolved

    async def _check(self, resolved: Resolved, configs: dict) -> None:
        request = resolved.request
        require(domain.request_violations(request) + attachment_violations(resolved.parts))
        key = (request.account_id, request.provider_id)
        if key not in configs:
            configs[key] = await self._provider_for_request(*key)
        config = configs[key]
        if isinstance(config, PostroomError):
            raise config
        parts_bound = sum(part.size * 140 // 100 + 1024 for part in resolved.parts)
        if domain.size_upper_bound(request) + parts_bound > config.max_message_bytes:
            self._refuse_oversized(resolved, config)

    async def _provider_for_request(self, account_id: str, provider_id: str) -> ProviderConfig | PostroomError:
        # As patient as the append that follows: a leader election is no reason to fail the request.
        try:
            lookup = await self.context.store.patiently(
                lambda: self.context.providers.get_fresh(account_id, provider_id), self.context.settings.append_patience
            )
        except Unavailable as behind:
            return behind  # the answer for each of the batch's emails to it: they do not wait again
        if lookup.config is None:
            return NotFound(f"provider {provider_id} not found: save it first (postroom provider save)")
        return lookup.config

    def _refuse_oversized(self, resolved: Resolved, config: ProviderConfig) -> None:
        request = resolved.request
        try:
            size = message_size_bound(request, sender=Sender.of(config), attachments=resolved.parts)
        except UnsafeHeader as error:
            raise InvalidArgument([FieldViolation(error.field_name, "must not contain CR or LF")]) from None
        if size > config.max_message_bytes:
            raise InvalidArgument(
                [
                    too_large_violation(
                        _largest_field(resolved),
                        size,
                        config.max_message_bytes,
                        domain.HINTS[domain.Case.MESSAGE_TOO_LONG],
                    )
                ]
            )

    async def _result(self, request: EmailRequest, dispatch_id: str, outcome) -> Accepted | PostroomError:
        if isinstance(outcome, ConcurrencyConflict):
            return Accepted(dispatch_id, await self._status_of_existing(dispatch_id))  # same key: same dispatch
        if isinstance(outcome, LogUnavailable):
            return Unavailable(_unknown_whether_queued(request, outcome))
        if isinstance(outcome, Exception):
            return FailedPrecondition(f"the event log did not accept the email, retry: {outcome}")
        return Accepted(dispatch_id, QUEUED)

    async def _status_of_existing(self, dispatch_id: str) -> str:
        row = await self.context.read_model.dispatch(dispatch_id)
        return row["status"] if row else QUEUED

    # ---- content uploaded before the emails that name it ----

    async def upload_content(self, chunks: AsyncIterator[tuple[str, int, bytes]]) -> Uploaded:
        """Content larger than one gRPC message, gathered whole before anything is stored: an upload
        cut off midway leaves nothing that can be referenced."""
        limit = domain.DEFAULT_MAX_MESSAGE_BYTES
        gathered, first = bytearray(), True
        async for account_id, declared_size, chunk in chunks:
            if first:
                require(domain.identity_violations(account_id, "p"))
                if declared_size > limit:
                    raise InvalidArgument([_upload_too_large("total_size", declared_size, limit)])
                first = False
            gathered += chunk
            if len(gathered) > limit:
                raise InvalidArgument([_upload_too_large("chunk", len(gathered), limit)])
        if not gathered:
            raise InvalidArgument([FieldViolation("chunk", "no content was sent")])
        stored = await self.context.content.store.put(bytes(gathered), refresh_after=self.context.content.refresh_after)
        return Uploaded(reference_of(stored.sha256), stored.size)

    # ---- reading ----

    async def get_dispatch(self, account_id: str, dispatch_id: str) -> DispatchView:
        require(
            domain.identity_violations(account_id, "p")
            + ([] if dispatch_id else [FieldViolation("dispatch_id", "is required")])
        )
        store = self.context.store
        last = await store.last_event(events.AGGREGATE, dispatch_id) if is_subject_token(dispatch_id) else None
        if last is None or last.event.account_id != account_id:
            raise NotFound(f"dispatch {dispatch_id} not found")
        await self.context.runner.catch_up_to(last.stream_seq)
        row = await self.context.read_model.dispatch(dispatch_id)
        if row is None:
            raise NotFound(f"dispatch {dispatch_id} is not in the read model yet; retry shortly")
        view = await self._view(row)
        digests = await self.context.read_model.content_digests(dispatch_id)
        return replace(view, content_held=await self.context.content.held(digests))

    async def _view(self, row: dict) -> DispatchView:
        status, attempts, reply, hint, paused = (
            row["status"],
            row["attempts"],
            row["last_smtp_reply"],
            row["hint"],
            "",
        )
        waiting = ""
        if status == QUEUED:
            lookup = await self.context.providers.get(row["account_id"], row["provider_id"])
            paused = lookup.paused_reason
            live = self.context.live.get(row["dispatch_id"])  # fresher when this process is the sender
            if live is not None and live.attempts >= attempts:
                attempts, reply, hint = live.attempts, live.last_reply, live.hint
            waiting = (
                self.context.live.waiting_reason(row["dispatch_id"])
                or paused
                or await self._quota_reason(lookup.config)
            )
            if attempts:
                status = SENDING  # attempted (by any replica), its outcome not yet recorded
        return _view_of(
            row,
            status=status,
            attempts=attempts,
            last_smtp_reply=reply,
            hint=hint,
            provider_paused_reason=paused,
            waiting_reason=waiting,
        )

    async def list_dispatches(
        self, account_id: str, wanted: DispatchFilter, size: int, page_token: str
    ) -> tuple[list[DispatchView], str]:
        """A page of the account's dispatches, newest first: their status as the read model has it
        (a listing does not ask each sender what it is doing right now, as GetDispatch does)."""
        require(domain.identity_violations(account_id, "p"))
        size = listing.page_size(size)
        rows = await self.context.read_model.list_dispatches(
            account_id, wanted, size, listing.decode_page_token(page_token)
        )
        views = [await self._listed(row) for row in rows]
        token = listing.encode_page_token(rows[-1]["queued_seq"]) if len(rows) == size else ""
        return views, token

    async def _listed(self, row: dict) -> DispatchView:
        if row["status"] != QUEUED:
            return _view_of(row)
        paused = (await self.context.providers.get(row["account_id"], row["provider_id"])).paused_reason
        return _view_of(
            row, status=SENDING if row["attempts"] else QUEUED, provider_paused_reason=paused, waiting_reason=paused
        )

    async def _quota_reason(self, config: ProviderConfig | None) -> str:
        """SES's daily quota, as the shared rate counts it, holds the provider's mail back."""
        if config is None:
            return ""
        limits = await self.context.ses_limits.limits_for(config)
        state = await self.context.rates.state_of(rate_key(config.account_id, config.provider_id))
        reached = rate_limit.quota_reached(state, time.time(), limits)
        return reached.reason() if reached else ""

    # ---- pauses ----

    async def resume_provider(self, account_id: str, provider_id: str, resumed_by: str, reason: str) -> Resumed:
        """Lift the provider's pauses a person may lift, recording who and why (ProviderResumed)."""
        require(
            domain.identity_violations(account_id, provider_id)
            + [
                FieldViolation(name, problem)
                for name, problem in (
                    ("resumed_by", text_problem(resumed_by, max_length=200, required=True)),
                    ("reason", text_problem(reason, max_length=1000, required=True)),
                )
                if problem
            ]
        )
        lookup = await self.context.providers.get_fresh(account_id, provider_id)
        if lookup.config is None:
            raise NotFound(lookup.problem or f"provider {provider_id} not found")
        liftable = [pause for pause in lookup.pauses if pause.cause.lifted_by_resume]
        kept = next((pause.reason for pause in lookup.pauses if not pause.cause.lifted_by_resume), "")
        if not liftable:
            raise FailedPrecondition(
                f"provider {provider_id} has no pause to lift" + (f": {kept}" if kept else ""),
                [PreconditionViolation("NOT_PAUSED", "provider_id", kept or "the provider is sending")],
            )
        appended = await self.context.store.append_durably(
            events.resumed_event(account_id, provider_id, resumed_by, reason),
            patience=self.context.settings.append_patience,
        )
        await self.context.runner.wait_for(appended.stream_seq, READ_YOUR_WRITES_SECONDS)
        await self.context.providers.get_fresh(account_id, provider_id)
        return Resumed(provider_id, tuple(pause.reason for pause in liftable), kept)

    # ---- the product page's "Send a test email" ----

    async def send_test_email(self, account_id: str, provider_id: str, to: str) -> TestResult:
        require(
            domain.identity_violations(account_id, provider_id)
            + ([FieldViolation("to", problem)] if (problem := address_problem(to)) else [])
        )
        lookup = await self.context.providers.get_fresh(account_id, provider_id)
        if lookup.config is None:
            raise NotFound(lookup.problem or f"provider {provider_id} not found: save it first")
        reason = await self._suppressed_reason(account_id, to, "")
        if reason:
            raise FailedPrecondition(
                f"{to} is suppressed ({reason}): mailing it would hurt the sender's reputation",
                [PreconditionViolation("SUPPRESSED", "to", reason)],
            )
        config = lookup.config
        request = EmailRequest(
            account_id, provider_id, to=(Mailbox(to),), subject=TEST_SUBJECT, text_body=TEST_BODY, transactional=True
        )
        message = build_message(request, dispatch_id="test", sender=Sender.of(config), now=datetime.now(timezone.utc))
        outcome = await send_once(
            config,
            message,
            timeout=self.context.settings.smtp_timeout,
            tls_context=client_context(self.context.settings.smtp_ca_file),
        )
        diagnosis: Diagnosis = domain.diagnose(outcome)
        delivered = diagnosis.verdict is domain.Verdict.DELIVERED
        return TestResult(
            delivered,
            domain.ses_message_id(outcome.text) if delivered else "",
            outcome.code,
            outcome.reply if outcome.code else diagnosis.message + f" ({outcome.text})",
            diagnosis.case.value,
            diagnosis.hint,
        )

    # ---- suppressions ----

    async def list_suppressions(
        self, account_id: str, page_size: int, page_token: str
    ) -> tuple[list[SuppressionView], str]:
        require(domain.identity_violations(account_id, "p"))
        size = min(page_size or 100, 1000)
        rows = await self.context.read_model.list_suppressions(account_id, size, _decode_token(page_token))
        views = [
            SuppressionView(
                r["account_id"],
                r["recipient_hash"],
                True,
                r["reason"],
                r["list_id"],
                r["recipient"],
                as_utc(r["since"]),
            )
            for r in rows
        ]
        token = _encode_token(rows[-1]) if len(rows) == size else ""
        return views, token

    async def get_recipient_suppression(self, account_id: str, email: str, list_id: str) -> SuppressionView:
        require(
            domain.identity_violations(account_id, "p")
            + ([FieldViolation("email", problem)] if (problem := address_problem(email)) else [])
        )
        hashed = recipient_hash(email)
        entries = await self.context.read_model.suppression_entries(account_id, [hashed])
        entry = gravest_entry(entries.get(hashed, []), list_id)
        return SuppressionView(
            account_id,
            hashed,
            entry is not None,
            entry.reason if entry else "",
            list_id,
            email,
            entry.since if entry else None,
        )

    async def _suppressed_reason(self, account_id: str, email: str, list_id: str) -> str | None:
        hashed = recipient_hash(email)
        entries = await self.context.read_model.suppression_entries(account_id, [hashed])
        return suppression_reason(entries.get(hashed, []), list_id)


def _view_of(row: dict, **live) -> DispatchView:
    """The view of a read-model row; `live` overrides what the sender knows better."""
    fields = dict(
        status=row["status"],
        attempts=row["attempts"],
        last_smtp_reply=row["last_smtp_reply"],
        hint=row["hint"],
        provider_paused_reason="",
        waiting_reason="",
    )
    return DispatchView(
        row["account_id"],
        row["dispatch_id"],
        row["provider_id"],
        ses_message_id=row["ses_message_id"],
        recipients=tuple(row.get("recipients", ())),
        list_id=row["list_id"],
        queued_at_ms=row["queued_at_ms"],
        retry_of=row["retry_of"],
        sent_by_provider_id=row["sent_by_provider_id"],
        tags=tuple(sorted(row.get("tags", {}).items())),
        **{**fields, **live},
    )


def _content_not_stored(failure: Exception) -> PostroomError:
    reason = failure.message if isinstance(failure, PostroomError) else repr(failure)
    return Unavailable(
        f"the content store did not take the email's content ({reason}); nothing was queued: send it again"
    )


def _upload_too_large(field: str, size: int, limit: int) -> FieldViolation:
    return FieldViolation(
        field, f"the content is {size} bytes; at most {limit} (SES takes whole messages up to 40 MB) can be uploaded"
    )


def _largest_field(resolved: Resolved) -> str:
    """The field that makes a message too large: its largest part, or its largest body."""
    request = resolved.request
    body_field, body_size = max(
        (("text_body", len(request.text_body)), ("html_body", len(request.html_body))), key=lambda item: item[1]
    )
    if resolved.parts:
        index, part = max(enumerate(resolved.parts), key=lambda item: item[1].size)
        if part.size >= body_size:
            return f"attachments[{index}].content"
    return body_field + ("_ref" if getattr(request, f"{body_field}_ref") else "")


def _unknown_whether_queued(request: EmailRequest, outcome: LogUnavailable) -> str:
    retry = (
        "send it again with the same idempotency_key: that never queues it twice"
        if request.idempotency_key
        else "set an idempotency_key and send it again (without one, a retry may queue it twice)"
    )
    return f"{outcome.message.split(';')[0]}; whether the email was queued is not known: {retry}"


def _encode_token(row: dict) -> str:
    key = [row["account_id"], row["recipient_hash"], row["list_id"], row["reason"]]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _decode_token(token: str) -> tuple[str, str, str, str] | None:
    if not token:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(key, list) and len(key) == 4 and all(isinstance(k, str) for k in key):
            return tuple(key)
    except (ValueError, TypeError):
        pass
    raise InvalidArgument([FieldViolation("page_token", "is not a token this service gave out")])
