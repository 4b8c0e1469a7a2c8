"""Dispatch's events: an EmailRequest in and out of EmailQueued, and the three outcome events.

Every event of one dispatch lives on the subject `<prefix>.dispatch.<dispatch_id>`.
"""

from __future__ import annotations

from services.core.events import Event, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash
from services.dispatch.content import ContentRef, ContentRefs, QueuedPart
from services.dispatch.domain import Diagnosis, EmailRequest, Mailbox, SmtpOutcome, ses_message_id
from services.dispatch.guard import Scope, TrailingRates
from services.dispatch.pauses import Cause

AGGREGATE = "dispatch"
ATTEMPTS = "dispatch_attempt"  # retryable answers, beside the dispatch's own subject
PROVIDER_HEALTH = "provider_health"


def queued_event(request: EmailRequest, dispatch_id: str, refs: ContentRefs | None = None) -> Event:
    """With `refs`, the bodies and parts are in the content store and the event names them. Without,
    the bodies ride inline, as in events written before the content store (they still replay and send)."""
    payload = events_pb2.EmailQueued(
        dispatch_id=dispatch_id,
        provider_id=request.provider_id,
        to=_addresses(request.to),
        cc=_addresses(request.cc),
        bcc=_addresses(request.bcc),
        subject=request.subject,
        headers=dict(request.headers),
        tags=dict(request.tags),
        list_id=request.list_id,
        idempotency_key=request.idempotency_key,
        transactional=request.transactional,
        attachments=[
            events_pb2.QueuedAttachment(
                filename=part.filename, content_id=part.content_id, content=_reference(part.content)
            )
            for part in (refs.parts if refs else ())
        ],
    )
    if refs is None:
        payload.text_body, payload.html_body = request.text_body, request.html_body
    elif refs.text is not None:
        payload.text_body_ref.CopyFrom(_reference(refs.text))
    if refs is not None and refs.html is not None:
        payload.html_body_ref.CopyFrom(_reference(refs.html))
    if request.reply_to is not None:
        payload.reply_to.CopyFrom(_address(request.reply_to))
    return new_event(
        payload,
        account_id=request.account_id,
        aggregate_type=AGGREGATE,
        aggregate_id=dispatch_id,
        correlation_id=dispatch_id,
    )


def requeued_event(original: Event, dispatch_id: str, idempotency_key: str) -> Event:
    """A FAILED dispatch's email queued again as a new dispatch that names the original."""
    payload = events_pb2.EmailQueued()
    payload.CopyFrom(original.email_queued)
    payload.dispatch_id, payload.idempotency_key, payload.retry_of = dispatch_id, idempotency_key, original.aggregate_id
    return new_event(
        payload,
        account_id=original.account_id,
        aggregate_type=AGGREGATE,
        aggregate_id=dispatch_id,
        correlation_id=dispatch_id,
        causation_id=original.event_id,
    )


def request_of(event: Event) -> EmailRequest:
    queued = event.email_queued
    return EmailRequest(
        account_id=event.account_id,
        provider_id=queued.provider_id,
        to=_mailboxes(queued.to),
        cc=_mailboxes(queued.cc),
        bcc=_mailboxes(queued.bcc),
        subject=queued.subject,
        text_body=queued.text_body,
        html_body=queued.html_body,
        headers=tuple(sorted(queued.headers.items())),
        reply_to=_mailbox(queued.reply_to) if queued.HasField("reply_to") else None,
        tags=tuple(sorted(queued.tags.items())),
        list_id=queued.list_id,
        idempotency_key=queued.idempotency_key,
        transactional=queued.transactional,
    )


def refs_of(event: Event) -> ContentRefs:
    queued = event.email_queued
    return ContentRefs(
        text=_ref(queued.text_body_ref) if queued.HasField("text_body_ref") else None,
        html=_ref(queued.html_body_ref) if queued.HasField("html_body_ref") else None,
        parts=tuple(QueuedPart(part.filename, part.content_id, _ref(part.content)) for part in queued.attachments),
    )


def _reference(ref: ContentRef) -> events_pb2.ContentReference:
    return events_pb2.ContentReference(sha256=ref.sha256, size=ref.size, media_type=ref.media_type)


def _ref(reference: events_pb2.ContentReference) -> ContentRef:
    return ContentRef(reference.sha256, reference.size, reference.media_type)


def dispatched_event(
    queued: Event, outcome: SmtpOutcome, attempts: int, recipients: tuple[str, ...], sent_by: str
) -> Event:
    payload = events_pb2.EmailDispatched(
        dispatch_id=queued.aggregate_id,
        provider_id=queued.email_queued.provider_id,
        ses_message_id=ses_message_id(outcome.text),
        attempts=attempts,
        smtp_reply=outcome.reply,
        recipient_hashes=[recipient_hash(address) for address in recipients],
        sent_by_provider_id=sent_by,
    )
    return _outcome(queued, payload)


def dispatched_per_feedback(queued: Event, ses_message_id: str, evidence: str, attempts: int) -> Event:
    """The outcome of an email whose sender stopped after SES took it: SES's own feedback names it."""
    request = request_of(queued)
    payload = events_pb2.EmailDispatched(
        dispatch_id=queued.aggregate_id,
        provider_id=request.provider_id,
        ses_message_id=ses_message_id,
        attempts=attempts,
        smtp_reply=f"no reply recorded (the sending process stopped); SES's {evidence} "
        "notification for this email shows it accepted the message",
        recipient_hashes=[recipient_hash(m.address) for m in request.recipients],
    )
    return _outcome(queued, payload)


def failed_event(queued: Event, outcome: SmtpOutcome | None, diagnosis: Diagnosis, attempts: int) -> Event:
    payload = events_pb2.DispatchFailed(
        dispatch_id=queued.aggregate_id,
        provider_id=queued.email_queued.provider_id,
        smtp_code=outcome.code if outcome else 0,
        smtp_text=outcome.text if outcome else diagnosis.message,
        hint=diagnosis.hint,
        attempts=attempts,
    )
    return _outcome(queued, payload)


def attempt_failed_event(queued: Event, outcome: SmtpOutcome, diagnosis: Diagnosis, attempt: int) -> Event:
    payload = events_pb2.DispatchAttemptFailed(
        dispatch_id=queued.aggregate_id,
        provider_id=queued.email_queued.provider_id,
        attempt=attempt,
        smtp_code=outcome.code,
        smtp_reply=outcome.reply if outcome.code else diagnosis.message,
        hint=diagnosis.hint,
    )
    return new_event(
        payload,
        account_id=queued.account_id,
        aggregate_type=ATTEMPTS,
        aggregate_id=queued.aggregate_id,
        correlation_id=queued.correlation_id,
        causation_id=queued.event_id,
    )


def suppressed_event(queued: Event, hashed_recipient: str, reason: str) -> Event:
    payload = events_pb2.EmailSuppressed(
        dispatch_id=queued.aggregate_id,
        provider_id=queued.email_queued.provider_id,
        recipient_hash=hashed_recipient,
        reason=reason,
    )
    return _outcome(queued, payload)


def paused_event(
    account_id: str,
    provider_id: str,
    reason: str,
    *,
    cause: Cause,
    scope: Scope,
    failures: int = 0,
    rates: TrailingRates | None = None,
) -> Event:
    payload = events_pb2.ProviderPaused(
        provider_id=provider_id, reason=reason, consecutive_failures=failures, cause=cause.value, scope=scope.value
    )
    if rates is not None:
        payload.bounce_rate, payload.complaint_rate, payload.window_sends = (
            rates.bounce_rate,
            rates.complaint_rate,
            rates.sends,
        )
    return new_event(payload, account_id=account_id, aggregate_type=PROVIDER_HEALTH, aggregate_id=provider_id)


def resumed_event(account_id: str, provider_id: str, resumed_by: str, reason: str) -> Event:
    payload = events_pb2.ProviderResumed(provider_id=provider_id, resumed_by=resumed_by, reason=reason)
    return new_event(payload, account_id=account_id, aggregate_type=PROVIDER_HEALTH, aggregate_id=provider_id)


def _outcome(queued: Event, payload) -> Event:
    return new_event(
        payload,
        account_id=queued.account_id,
        aggregate_type=AGGREGATE,
        aggregate_id=queued.aggregate_id,
        correlation_id=queued.correlation_id,
        causation_id=queued.event_id,
    )


def _addresses(mailboxes: tuple[Mailbox, ...]) -> list[events_pb2.EmailAddress]:
    return [_address(m) for m in mailboxes]


def _address(mailbox: Mailbox) -> events_pb2.EmailAddress:
    return events_pb2.EmailAddress(address=mailbox.address, name=mailbox.name)


def _mailboxes(addresses) -> tuple[Mailbox, ...]:
    return tuple(_mailbox(a) for a in addresses)


def _mailbox(address: events_pb2.EmailAddress) -> Mailbox:
    return Mailbox(address.address, address.name)
