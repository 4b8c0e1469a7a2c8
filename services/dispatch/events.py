"""Dispatch's events: an EmailRequest in and out of EmailQueued, and the three outcome events.

Every event of one dispatch lives on the subject `<prefix>.dispatch.<dispatch_id>`.
"""

from __future__ import annotations

from services.core.events import Event, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash
from services.dispatch.domain import Diagnosis, EmailRequest, Mailbox, SmtpOutcome, ses_message_id
from services.dispatch.guard import Scope, TrailingRates
from services.dispatch.pauses import Cause

AGGREGATE = "dispatch"
ATTEMPTS = "dispatch_attempt"      # retryable answers, beside the dispatch's own subject
PROVIDER_HEALTH = "provider_health"


def queued_event(request: EmailRequest, dispatch_id: str) -> Event:
    payload = events_pb2.EmailQueued(
        dispatch_id=dispatch_id, provider_id=request.provider_id, to=_addresses(request.to),
        cc=_addresses(request.cc), bcc=_addresses(request.bcc), subject=request.subject,
        text_body=request.text_body, html_body=request.html_body, headers=dict(request.headers),
        tags=dict(request.tags), list_id=request.list_id, idempotency_key=request.idempotency_key,
        transactional=request.transactional)
    if request.reply_to is not None:
        payload.reply_to.CopyFrom(_address(request.reply_to))
    return new_event(payload, account_id=request.account_id, aggregate_type=AGGREGATE, aggregate_id=dispatch_id,
                     correlation_id=dispatch_id)


def request_of(event: Event) -> EmailRequest:
    queued = event.email_queued
    return EmailRequest(
        account_id=event.account_id, provider_id=queued.provider_id, to=_mailboxes(queued.to),
        cc=_mailboxes(queued.cc), bcc=_mailboxes(queued.bcc), subject=queued.subject,
        text_body=queued.text_body, html_body=queued.html_body, headers=tuple(sorted(queued.headers.items())),
        reply_to=_mailbox(queued.reply_to) if queued.HasField("reply_to") else None,
        tags=tuple(sorted(queued.tags.items())), list_id=queued.list_id, idempotency_key=queued.idempotency_key,
        transactional=queued.transactional)


def dispatched_event(queued: Event, outcome: SmtpOutcome, attempts: int, recipients: tuple[str, ...],
                     sent_by: str) -> Event:
    payload = events_pb2.EmailDispatched(
        dispatch_id=queued.aggregate_id, provider_id=queued.email_queued.provider_id,
        ses_message_id=ses_message_id(outcome.text), attempts=attempts, smtp_reply=outcome.reply,
        recipient_hashes=[recipient_hash(address) for address in recipients], sent_by_provider_id=sent_by)
    return _outcome(queued, payload)


def dispatched_per_feedback(queued: Event, ses_message_id: str, evidence: str, attempts: int) -> Event:
    """The outcome of an email whose sender stopped after SES took it: SES's own feedback names it."""
    request = request_of(queued)
    payload = events_pb2.EmailDispatched(
        dispatch_id=queued.aggregate_id, provider_id=request.provider_id, ses_message_id=ses_message_id,
        attempts=attempts, smtp_reply=f"no reply recorded (the sending process stopped); SES's {evidence} "
                                      "notification for this email shows it accepted the message",
        recipient_hashes=[recipient_hash(m.address) for m in request.recipients])
    return _outcome(queued, payload)


def failed_event(queued: Event, outcome: SmtpOutcome | None, diagnosis: Diagnosis, attempts: int) -> Event:
    payload = events_pb2.DispatchFailed(
        dispatch_id=queued.aggregate_id, provider_id=queued.email_queued.provider_id,
        smtp_code=outcome.code if outcome else 0, smtp_text=outcome.text if outcome else diagnosis.message,
        hint=diagnosis.hint, attempts=attempts)
    return _outcome(queued, payload)


def attempt_failed_event(queued: Event, outcome: SmtpOutcome, diagnosis: Diagnosis, attempt: int) -> Event:
    payload = events_pb2.DispatchAttemptFailed(
        dispatch_id=queued.aggregate_id, provider_id=queued.email_queued.provider_id, attempt=attempt,
        smtp_code=outcome.code, smtp_reply=outcome.reply if outcome.code else diagnosis.message, hint=diagnosis.hint)
    return new_event(payload, account_id=queued.account_id, aggregate_type=ATTEMPTS,
                     aggregate_id=queued.aggregate_id, correlation_id=queued.correlation_id,
                     causation_id=queued.event_id)


def suppressed_event(queued: Event, hashed_recipient: str, reason: str) -> Event:
    payload = events_pb2.EmailSuppressed(dispatch_id=queued.aggregate_id, provider_id=queued.email_queued.provider_id,
                                         recipient_hash=hashed_recipient, reason=reason)
    return _outcome(queued, payload)


def paused_event(account_id: str, provider_id: str, reason: str, *, cause: Cause, scope: Scope, failures: int = 0,
                 rates: TrailingRates | None = None) -> Event:
    payload = events_pb2.ProviderPaused(provider_id=provider_id, reason=reason, consecutive_failures=failures,
                                        cause=cause.value, scope=scope.value)
    if rates is not None:
        payload.bounce_rate, payload.complaint_rate, payload.window_sends = \
            rates.bounce_rate, rates.complaint_rate, rates.sends
    return new_event(payload, account_id=account_id, aggregate_type=PROVIDER_HEALTH, aggregate_id=provider_id)


def resumed_event(account_id: str, provider_id: str, resumed_by: str, reason: str) -> Event:
    payload = events_pb2.ProviderResumed(provider_id=provider_id, resumed_by=resumed_by, reason=reason)
    return new_event(payload, account_id=account_id, aggregate_type=PROVIDER_HEALTH, aggregate_id=provider_id)


def _outcome(queued: Event, payload) -> Event:
    return new_event(payload, account_id=queued.account_id, aggregate_type=AGGREGATE,
                     aggregate_id=queued.aggregate_id, correlation_id=queued.correlation_id,
                     causation_id=queued.event_id)


def _addresses(mailboxes: tuple[Mailbox, ...]) -> list[events_pb2.EmailAddress]:
    return [_address(m) for m in mailboxes]


def _address(mailbox: Mailbox) -> events_pb2.EmailAddress:
    return events_pb2.EmailAddress(address=mailbox.address, name=mailbox.name)


def _mailboxes(addresses) -> tuple[Mailbox, ...]:
    return tuple(_mailbox(a) for a in addresses)


def _mailbox(address: events_pb2.EmailAddress) -> Mailbox:
    return Mailbox(address.address, address.name)
