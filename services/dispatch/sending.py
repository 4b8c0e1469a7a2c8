"""Sending one queued email: the use case from an EmailQueued to its outcome event.

In order: the read model must cover the EmailQueued (so every suppression and provider change
before it counts); a deleted provider fails the email, a paused one holds it; SES's own
feedback about it (a crash after SES's 250) records it as sent; suppressed recipients are
dropped, and with none left the email is SUPPRESSED; a provider that holds the email (paused, or
non-transactional mail held by the guard) hands it to its first fallback that can take it, else it
waits; then the message is built and sent within
the provider's shared rate, retrying 4xx with backoff, until delivered, refused for good, or out
of attempts. The worker records the outcome; this module never acknowledges anything.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from services.core.durable_worker import Requeue
from services.core.errors import InvalidArgument
from services.core.event_store import LogUnavailable
from services.core.events import Event
from services.core.ids import recipient_hash
from services.core.settings import Settings
from services.core.tls import client_context
from services.dispatch import domain, events
from services.dispatch.attachments import AttachmentContent
from services.dispatch.context import DispatchContext, LiveAttempt
from services.dispatch.email_content import ContentMissing
from services.dispatch.domain import Diagnosis, ProviderConfig, SmtpOutcome, Verdict
from services.dispatch.failover import Candidate, choose_sender
from services.dispatch.guard import Scope
from services.dispatch.message_budget import MessageBudget, bytes_in_hand
from services.dispatch.message import BuiltMessage, Sender, UnsafeHeader, build_message
from services.dispatch.metrics import QUEUE_TO_SENT, failovers, smtp_replies
from services.dispatch.pauses import Cause, Pause
from services.dispatch.projection import SuppressionChecks
from services.dispatch.providers import ProviderHealth, ProviderLookup
from services.dispatch.shared_rate import ProviderPacer, QuotaExhausted, rate_key
from services.dispatch.smtp import ProviderConnections
from services.core.suppression_rule import suppression_reason

log = logging.getLogger(__name__)

READ_MODEL_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class SendTimings:
    """Delays that tests shorten; production uses the defaults."""

    ack_wait: float = 60.0  # a crashed worker's mail is redelivered after this
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    paused_recheck: float = 10.0  # how soon a paused provider's mail is looked at again
    quota_recheck: float = 60.0  # ...and mail held by SES's daily quota (the window rolls on)

    @classmethod
    def for_settings(cls, settings: Settings) -> "SendTimings":
        # A lease of a few SMTP timeouts unless set: a live worker renews it every third, so it
        # never lapses under a slow send, and a dead worker's mail moves on soon.
        return cls(ack_wait=settings.dispatch_ack_wait or max(5.0, 4 * settings.smtp_timeout))


class QueuedEmailSender:
    def __init__(self, context: DispatchContext, timings: SendTimings) -> None:
        self.context = context
        self.timings = timings
        self.health = ProviderHealth()
        self.suppressions = SuppressionChecks(context.read_model)
        self._pools: dict[tuple[str, str], ProviderConnections] = {}
        self._pacers: dict[tuple[str, str], ProviderPacer] = {}
        self.budget = MessageBudget(context.settings.dispatch_message_budget_mb * 1024 * 1024)
        # A send reads providers and suppressions (and a redelivery, SES's receipts); the events of
        # the dispatches themselves, queued or with their outcomes, change none of those.
        dispatch_subjects = tuple(context.store.subject_for(kind, "") for kind in (events.AGGREGATE, events.ATTEMPTS))
        self._unread_by_a_send = lambda subject: subject.startswith(dispatch_subjects)

    async def outcome_for(self, queued: Event, seq: int, seen: bool) -> Event:
        """The outcome event to record for this EmailQueued (at `seq`), or Requeue."""
        live = self.context.live
        attempts_made = await self._attempts_made(queued.aggregate_id) if seen else 0
        try:
            outcome = await self._decide(queued, seq, attempts_made, seen)
        except Requeue as requeue:
            if requeue.reason:  # GetDispatch says why the email waits, until its outcome
                live.hold(queued.aggregate_id, requeue.reason, requeue.delay)
            raise
        finally:
            live.by_dispatch.pop(queued.aggregate_id, None)
        live.release(queued.aggregate_id)
        return outcome

    async def close(self) -> None:
        for pool in self._pools.values():
            await pool.close()
        await self.suppressions.close()

    async def _attempts_made(self, dispatch_id: str) -> int:
        """Attempts an earlier delivery made (a worker that crashed or lost its lease): the
        configured number of attempts holds across redeliveries, not per delivery."""
        last = await self.context.store.last_event(events.ATTEMPTS, dispatch_id)
        return last.event.dispatch_attempt_failed.attempt if last is not None else 0

    async def _decide(self, queued: Event, seq: int, attempts_made: int, seen: bool) -> Event:
        request = events.request_of(queued)
        lookup = await self._provider_as_of(queued.account_id, request.provider_id, seq, seen)
        if lookup.config is None:
            reason = lookup.problem or "the provider was deleted or never saved"
            return events.failed_event(
                queued,
                None,
                _fixed_diagnosis(
                    f"Dispatch Failed: {reason}", "Save the provider again (or send through another one)."
                ),
                0,
            )
        sender = await self._sender_for(request, lookup, lookup.config)
        hashes = {m.address: recipient_hash(m.address) for m in request.recipients}
        entries = await self.suppressions.entries(queued.account_id, list(hashes.values()))
        if seen and (receipt := await self.context.read_model.ses_receipt(queued.aggregate_id)):
            # Read after the suppressions: feedback that suppressed a recipient is in the same
            # projection batch as its receipt, so an email SES bounced is not called SUPPRESSED.
            return events.dispatched_per_feedback(queued, receipt["ses_message_id"], receipt["evidence"], attempts_made)
        kept = tuple(
            m
            for m in request.recipients
            if suppression_reason(entries.get(hashes[m.address], []), request.list_id) is None
        )
        if not kept:
            first = hashes[request.recipients[0].address]
            return events.suppressed_event(queued, first, suppression_reason(entries[first], request.list_id) or "")
        async with self.budget.holding(bytes_in_hand(events.refs_of(queued))):
            content = await self._content_of(queued, request)
            if isinstance(content, Event):
                return content
            request, attachments = content
            message = self._message_for(queued, request, lookup.config, sender, kept, attachments)
            if isinstance(message, Event):
                return message  # refused before any SMTP work
            return await self._attempt_until_done(queued, message, sender, attempts_made)

    async def _sender_for(
        self, request: domain.EmailRequest, lookup: ProviderLookup, primary: ProviderConfig
    ) -> ProviderConfig:
        """The provider itself (`primary`, `lookup`'s config), or while it holds this email, its
        first fallback that can take it; with none, the email waits (Requeue) with the reason."""
        reason = lookup.holding_reason(request.transactional)
        if not reason:
            return primary
        fallbacks = [
            await self.context.providers.get(primary.account_id, provider_id)
            for provider_id in primary.fallback_provider_ids
        ]
        candidates = [
            Candidate(f.config.provider_id, f.config.from_address, f.pauses)
            if f.config is not None
            else Candidate(provider_id, "", exists=False)
            for provider_id, f in zip(primary.fallback_provider_ids, fallbacks)
        ]
        chosen = choose_sender(primary.from_address, candidates, request.transactional)
        if chosen is None:
            raise Requeue(self.timings.paused_recheck, reason)
        failovers(primary.provider_id, chosen.provider_id).inc()
        return next(f.config for f in fallbacks if f.config is not None and f.config.provider_id == chosen.provider_id)

    async def _provider_as_of(self, account_id: str, provider_id: str, seq: int, seen: bool) -> ProviderLookup:
        """The read model must hold everything before the EmailQueued: a bounce or an unsubscribe
        recorded before the email was queued must stop it, however far behind this replica is. The
        EmailQueued itself changes nothing the send reads, so the email need not wait for the read
        model to take it in too (on a quiet log, that is the projection's whole round trip), nor
        for the write of other dispatches' events the projection has read (the last email's
        outcome, one at a time). A redelivery reads its SES receipt, so it waits for everything."""
        unread_by = None if seen else self._unread_by_a_send
        if not await self.context.runner.wait_for(seq - 1, READ_MODEL_WAIT_SECONDS, unread_by):
            raise Requeue(1.0)
        return await self.context.providers.get(account_id, provider_id)

    async def _content_of(
        self, queued: Event, request: domain.EmailRequest
    ) -> tuple[domain.EmailRequest, list[AttachmentContent]] | Event:
        """The bodies and parts from the content store (events from before it carry the bodies)."""
        try:
            return await self.context.content.fetch(request, events.refs_of(queued))
        except ContentMissing as missing:
            return events.failed_event(
                queued,
                None,
                _fixed_diagnosis(
                    f"Dispatch Failed: its content ({missing}) is no longer in the content store",
                    "Send the email again.",
                ),
                0,
            )
        except LogUnavailable:
            raise Requeue(1.0, "the content store is not answering") from None

    def _message_for(
        self,
        queued: Event,
        request: domain.EmailRequest,
        primary: ProviderConfig,
        config: ProviderConfig,
        kept: tuple[domain.Mailbox, ...],
        attachments: list[AttachmentContent],
    ) -> BuiltMessage | Event:
        """The message to send through `config`, From the primary's address (a fallback too sends
        as the primary, with its own configuration set and tenant), or the DispatchFailed that
        refuses it before SMTP."""
        try:
            message = build_message(
                request,
                dispatch_id=queued.aggregate_id,
                sender=Sender.of(config, sending_as=primary),
                now=datetime.now(timezone.utc),
                recipients=kept,
                attachments=attachments,
                unsubscribe_headers=self.context.unsubscribe.headers_for(request, queued.aggregate_id, kept[0].address),
            )
        except UnsafeHeader as error:
            return events.failed_event(
                queued,
                None,
                _fixed_diagnosis(
                    f"Dispatch Failed: {error}", "Remove line breaks from the provider's From name and address."
                ),
                0,
            )
        except InvalidArgument as error:  # parts of an event the API of today would refuse
            return events.failed_event(
                queued,
                None,
                _fixed_diagnosis(f"Dispatch Failed: {error.message}", "Correct the attachments and send again."),
                0,
            )
        if message.size > config.max_message_bytes:
            outcome = SmtpOutcome(
                552,
                f"message is {message.size} bytes; the provider accepts "
                f"{config.max_message_bytes} (refused before sending)",
            )
            return events.failed_event(queued, outcome, domain.diagnose(outcome), 0)
        return message

    async def _attempt_until_done(
        self, queued: Event, message: BuiltMessage, config: ProviderConfig, attempts_made: int
    ) -> Event:
        """Send, retrying 4xx with backoff, until delivered, refused for good, or out of attempts."""
        pool = self._pool_for(config)
        live = self.context.live.by_dispatch.setdefault(queued.aggregate_id, LiveAttempt())
        attempt = attempts_made
        while True:
            await self._within_rate(config, len(message.recipients))
            attempt += 1
            live.attempts = attempt
            outcome = await pool.send(message)
            diagnosis = domain.diagnose(outcome)
            smtp_replies(str(outcome.code)).inc()
            live.last_reply, live.hint = outcome.reply, diagnosis.hint
            if diagnosis.verdict is Verdict.DELIVERED:
                self.health.succeeded(config)
                QUEUE_TO_SENT.observe(max(0.0, time.time() - queued.occurred_at.ToNanoseconds() / 1e9))
                return events.dispatched_event(queued, outcome, attempt, message.recipients, config.provider_id)
            if diagnosis.verdict is Verdict.WAIT:
                raise Requeue(self.timings.quota_recheck, diagnosis.message)  # no attempt spent on SES's quota
            if diagnosis.case is domain.Case.THROTTLING:
                await self.context.rates.throttled(_rate_key(config))
            if diagnosis.verdict is Verdict.PROVIDER_DOWN:
                await self._provider_failed(config, outcome, diagnosis)
            if diagnosis.verdict is Verdict.FAILED or attempt >= self.context.settings.dispatch_max_attempts:
                return events.failed_event(queued, outcome, diagnosis, attempt)
            await self._record_attempt(events.attempt_failed_event(queued, outcome, diagnosis, attempt))
            await asyncio.sleep(
                domain.backoff_seconds(
                    attempt, base=self.timings.backoff_base, cap=self.timings.backoff_cap, jitter=random.random()
                )
            )

    async def _within_rate(self, config: ProviderConfig, recipients: int) -> None:
        """Wait for the provider's shared rate; with SES's daily quota used up, hold the email."""
        limits = await self.context.ses_limits.limits_for(config)
        try:
            await self._pacer_for(config).acquire(recipients, limits)
        except QuotaExhausted as exhausted:
            raise Requeue(
                min(self.timings.quota_recheck, max(0.1, exhausted.reached.until - time.time())),
                exhausted.reached.reason(),
            ) from None

    async def _record_attempt(self, attempt: Event) -> None:
        """Tell every replica's read model (GetDispatch) about a retry."""
        await self.context.store.append_durably(attempt, patience=None)

    async def _provider_failed(self, config: ProviderConfig, outcome: SmtpOutcome, diagnosis: Diagnosis) -> None:
        """The provider, not this email, is at fault: the email waits, and enough failures in a
        row pause the provider so its queue is not burnt through with the same error."""
        failures = self.health.failed(config)
        if failures >= self.context.settings.pause_after_failures:
            reason = domain.paused_reason(failures, diagnosis)
            current = await self.context.providers.get(config.account_id, config.provider_id)
            if not any(pause.cause is Cause.FAILURES for pause in current.pauses):
                pause = Pause(Cause.FAILURES, Scope.ALL, reason)
                self.context.providers.pause_locally(config, pause)
                pool = self._pools.get((config.account_id, config.provider_id))
                if pool is not None and pool.provider.saved_seq == config.saved_seq:
                    pool.pause(outcome)  # the sends queued for a connection stay away from SES too
                paused = events.paused_event(
                    config.account_id,
                    config.provider_id,
                    reason,
                    failures=failures,
                    cause=Cause.FAILURES,
                    scope=Scope.ALL,
                )
                appended = await self.context.store.append_durably(paused, patience=None)
                self.context.providers.pause_locally(config, replace(pause, paused_seq=appended.stream_seq))
                log.warning("provider paused", extra={"provider_id": config.provider_id, "failures": failures})
            raise Requeue(self.timings.paused_recheck)
        raise Requeue(
            domain.backoff_seconds(
                failures, base=self.timings.backoff_base, cap=self.timings.backoff_cap, jitter=random.random()
            )
        )

    def _pool_for(self, config: ProviderConfig) -> ProviderConnections:
        key = (config.account_id, config.provider_id)
        pool = self._pools.get(key)
        # A paused pool is replaced once its provider sends again (saved again, or resumed).
        if pool is None or pool.provider.saved_seq != config.saved_seq or pool.paused:
            if pool is not None:
                asyncio.get_running_loop().create_task(pool.close())
            pool = ProviderConnections(
                config,
                timeout=self.context.settings.smtp_timeout,
                tls_context=client_context(self.context.settings.smtp_ca_file),
            )
            self._pools[key] = pool
        return pool

    def _pacer_for(self, config: ProviderConfig) -> ProviderPacer:
        key = (config.account_id, config.provider_id)
        if key not in self._pacers:
            self._pacers[key] = ProviderPacer(self.context.rates, _rate_key(config))
        return self._pacers[key]


def _rate_key(config: ProviderConfig) -> str:
    return rate_key(config.account_id, config.provider_id)


def _fixed_diagnosis(message: str, hint: str) -> Diagnosis:
    return Diagnosis(Verdict.FAILED, domain.Case.REJECTED, message, hint)
