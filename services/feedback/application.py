"""Feedback use cases: take one SNS delivery to durable events, and answer queries.

Every refusal is an `SnsMessageError` carrying the HTTP status the endpoint answers.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from services.core import tracing
from services.core.email_address import address_problem
from services.core.errors import FieldViolation, NotFound, require
from services.core.event_store import ConcurrencyConflict, EventStore, LogUnavailable, PendingAppend
from services.core.events import new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import IDENTIFIER_RULE, is_identifier, recipient_hash
from services.core.projection import ProjectionRunner
from services.core.settings import Settings
from services.feedback import domain
from services.core.suppression_rule import Reason
from services.feedback.domain import ProviderTopics, TopicDecision
from services.feedback.metrics import (
    BOUNCE_RATE,
    COMPLAINT_RATE,
    FEEDBACK_NOT_RECORDED,
    feedback_recorded,
    SNS_DUPLICATES,
    SUBSCRIPTIONS,
)
from services.feedback.projection import (
    RECORD_KINDS,
    DeliveryContext,
    DeliveryContextReader,
    FeedbackFilter,
    FeedbackReadModel,
    FeedbackRecordView,
)
from services.feedback.ses_feedback import IgnoredFeedback, OtherFeedback, parse_ses_feedback
from services.feedback.sns_confirmation import SubscriptionConfirmer
from services.feedback.sns_message import SnsMessage, SnsMessageError, SnsMessageType, parse_sns_message
from services.feedback.sns_verifier import SnsSignatureVerifier

log = logging.getLogger(__name__)

READ_MODEL_WAIT_SECONDS = 5.0
FIRST_TOPIC_ATTEMPTS = 3
RECENT_RECORDS = 20
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class ServiceUnavailableError(SnsMessageError):
    """The event store or read model cannot be reached: 503, so SNS delivers the message again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, 503)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A delivery answered 200; `detail` says what became of it."""

    message_type: str
    detail: str


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    account_id: str
    recipient_hash: str
    suppression_reason: Reason | None
    soft_bounces: int
    recent: list[FeedbackRecordView]


class FeedbackApplication:
    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        runner: ProjectionRunner,
        verifier: SnsSignatureVerifier,
        confirmer: SubscriptionConfirmer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.runner = runner
        self.verifier = verifier
        self.confirmer = confirmer
        self.clock = clock
        self.read_model = FeedbackReadModel(runner.engine)
        self.context_reader = DeliveryContextReader(runner.engine)

    # ---- the SNS endpoint ----

    async def receive(self, account_id: str, provider_id: str, body: bytes, headers: Mapping[str, str]) -> Accepted:
        if not (is_identifier(account_id) and is_identifier(provider_id)):
            raise SnsMessageError("no such provider: the account and provider ids in the URL are not valid ids", 404)
        message = parse_sns_message(body, headers)
        if not domain.sns_message_id_is_valid(message.message_id):
            raise SnsMessageError("MessageId is not an SNS message id (letters, digits and '-', at most 100)")
        context = await self._delivery_context(provider_id, message.message_id)
        provider = _provider_of(context, account_id, provider_id)
        await self.verifier.verify(message)
        if message.type is SnsMessageType.NOTIFICATION:
            return await self._notification(account_id, provider_id, provider, context, message)
        if message.type is SnsMessageType.SUBSCRIPTION_CONFIRMATION:
            return await self._subscription(account_id, provider_id, provider, context, message)
        return await self._unsubscribe(account_id, provider_id, provider, context, message)

    async def _notification(
        self, account_id: str, provider_id: str, provider: ProviderTopics, context: DeliveryContext, message: SnsMessage
    ) -> Accepted:
        _require_topic(provider, message.topic_arn, confirming=False)
        if context.already_recorded:
            SNS_DUPLICATES.labels("read_model").inc()
            return Accepted(message.type.value, "already recorded")
        items = parse_ses_feedback(message.message)
        dispatch_ids = await self._dispatch_ids(account_id, domain.ses_message_ids_without_dispatch_id(items))
        events = domain.feedback_events(
            items, provider_id=provider_id, sns_message_id=message.message_id, dispatch_id_of=dispatch_ids.get
        )
        _count_unrecorded(items)
        if not events:
            return Accepted(message.type.value, "nothing to record")
        if tracing.enabled():
            await self._link_dispatch_traces(account_id, events)
        pending = feedback_appends(account_id, events)
        duplicates = await self._append(pending)
        for event in events:
            feedback_recorded(event.payload.DESCRIPTOR.name).inc()
        if duplicates == len(pending):
            SNS_DUPLICATES.labels("jetstream").inc()
        return Accepted(message.type.value, f"recorded {len(events)} event(s)")

    async def _link_dispatch_traces(self, account_id: str, events) -> None:
        """Feedback about a dispatch links to the trace it was sent in."""
        dispatch_ids = {e.payload.dispatch_id for e in events if getattr(e.payload, "dispatch_id", "")}
        for dispatch_id, trace_parent in (await self.read_model.trace_parents(account_id, dispatch_ids)).items():
            tracing.link_current_span(trace_parent, **{"postroom.dispatch_id": dispatch_id})

    async def _subscription(
        self, account_id: str, provider_id: str, provider: ProviderTopics, context: DeliveryContext, message: SnsMessage
    ) -> Accepted:
        decision = _require_topic(provider, message.topic_arn, confirming=True)
        if context.already_recorded:
            SNS_DUPLICATES.labels("read_model").inc()
            return Accepted(message.type.value, "already confirmed")
        assert message.subscribe_url is not None  # parse_sns_message requires it on confirmations
        if decision is TopicDecision.ALLOW_AS_FIRST:
            await self._claim_first_topic(account_id, provider_id, message.topic_arn)
        await self.confirmer.confirm(message.subscribe_url)
        confirmed = events_pb2.SnsSubscriptionConfirmed(
            provider_id=provider_id, topic_arn=message.topic_arn, sns_message_id=message.message_id
        )
        await self._append_subscription_event(account_id, provider_id, confirmed, message.message_id)
        SUBSCRIPTIONS.labels("confirmed").inc()
        log.info("sns subscription confirmed", extra={"provider_id": provider_id, "topic_arn": message.topic_arn})
        return Accepted(message.type.value, "subscription confirmed")

    async def _unsubscribe(
        self, account_id: str, provider_id: str, provider: ProviderTopics, context: DeliveryContext, message: SnsMessage
    ) -> Accepted:
        # Never visit this message's SubscribeURL: it would subscribe the endpoint again (listmonk's bug).
        _require_topic(provider, message.topic_arn, confirming=False)
        if not context.already_recorded:
            received = events_pb2.SnsUnsubscribeReceived(
                provider_id=provider_id, topic_arn=message.topic_arn, sns_message_id=message.message_id
            )
            await self._append_subscription_event(account_id, provider_id, received, message.message_id)
            SUBSCRIPTIONS.labels("unsubscribed").inc()
            log.warning("sns subscription removed", extra={"provider_id": provider_id, "topic_arn": message.topic_arn})
        return Accepted(message.type.value, "unsubscribe recorded; not re-subscribed")

    async def _claim_first_topic(self, account_id: str, provider_id: str, topic_arn: str) -> None:
        """Record `topic_arn` as the provider's topic unless another topic got there first.

        The append expects the provider's last subject sequence, so of two topics confirming at
        once only one is recorded; the other re-reads and is refused."""
        for _ in range(FIRST_TOPIC_ATTEMPTS):
            last = await self._guarded(self.store.last_event("provider", provider_id))
            if last is None or last.event.account_id != account_id:
                raise SnsMessageError("no such provider", 404)
            await self.runner.wait_for(last.stream_seq, READ_MODEL_WAIT_SECONDS)
            context = await self._delivery_context(provider_id, "-")
            decision = _require_topic(_provider_of(context, account_id, provider_id), topic_arn, confirming=True)
            if decision is TopicDecision.ALLOWED:
                return
            allowed = new_event(
                events_pb2.ProviderTopicAllowed(provider_id=provider_id, topic_arn=topic_arn),
                account_id=account_id,
                aggregate_type="provider",
                aggregate_id=provider_id,
            )
            try:
                appended = await self._guarded(
                    self.store.append_durably(
                        allowed, expected_sequence=last.stream_seq, patience=self.settings.append_patience
                    )
                )
            except ConcurrencyConflict:
                continue
            # so the topic's first Notification, right behind this confirmation, finds it allowed
            await self.runner.wait_for(appended.stream_seq, READ_MODEL_WAIT_SECONDS)
            log.info("first sns topic allowed", extra={"provider_id": provider_id, "topic_arn": topic_arn})
            return
        raise ServiceUnavailableError("the provider kept changing while this topic was being recorded; retry")

    async def _append_subscription_event(self, account_id: str, provider_id: str, payload, sns_message_id: str) -> None:
        event = new_event(
            payload, account_id=account_id, aggregate_type=domain.SUBSCRIPTION_AGGREGATE, aggregate_id=provider_id
        )
        await self._append([PendingAppend(event, msg_id=domain.subscription_msg_id(provider_id, sns_message_id))])

    async def _append(self, pending: list[PendingAppend]) -> int:
        """Append all, durably, retried through the log's hiccups within POSTROOM_APPEND_PATIENCE
        (SNS waits 15 s for an answer); returns how many JetStream dropped as duplicates. Not
        confirmed in time: 503, and SNS delivers again (the MessageId dedupes it)."""
        outcomes = await self._guarded(self.store.append_many_durably(pending, patience=self.settings.append_patience))
        failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        if failures:
            log.warning("feedback append failed", extra={"error": repr(failures[0])})
            raise ServiceUnavailableError("the event store did not confirm the event; retry later")
        return sum(1 for outcome in outcomes if outcome.duplicate)

    async def _delivery_context(self, provider_id: str, sns_message_id: str) -> DeliveryContext:
        return await self._guarded(self.context_reader.delivery_context(provider_id, sns_message_id))

    async def _dispatch_ids(self, account_id: str, ses_message_ids: list[str]) -> dict[str, str]:
        if not ses_message_ids:
            return {}
        return await self._guarded(self.read_model.dispatch_ids(account_id, ses_message_ids))

    async def _guarded(self, operation):
        """Await an event-store or read-model call; any failure to reach them is a 503.

        No timeout of our own: the event store's requests time out (10 s), and a timed-out append
        is answered 503 so SNS sends the message again."""
        try:
            return await operation
        except (ConcurrencyConflict, SnsMessageError):
            raise
        except LogUnavailable as error:
            raise ServiceUnavailableError(f"the event log is unavailable ({error.message}); retry later") from error
        except (SQLAlchemyError, sqlite3.Error, OSError, TimeoutError) as error:
            raise ServiceUnavailableError(f"storage is unavailable ({type(error).__name__}); retry later") from error
        except Exception as error:
            # nats-py and asyncpg raise their own error classes for every way a server can be away
            if type(error).__module__.split(".")[0] in ("nats", "asyncpg"):
                raise ServiceUnavailableError(f"storage is unavailable ({type(error).__name__})") from error
            raise

    # ---- queries ----

    async def recipient_status(self, account_id: str, email: str) -> RecipientStatus:
        require(_account_violations(account_id) + _email_violations("email", email, required=True))
        hashed = recipient_hash(email)
        evidence = await self.read_model.recipient_evidence(account_id, hashed)
        recent = await self.read_model.list_records(
            FeedbackFilter(account_id=account_id, recipient_hash=hashed), RECENT_RECORDS
        )
        reason = domain.suppression_reason(
            evidence,
            soft_bounce_threshold=self.settings.soft_bounce_threshold,
            soft_bounce_window_days=self.settings.soft_bounce_window_days,
        )
        soft = domain.recent_soft_bounces(evidence, self.settings.soft_bounce_window_days)
        return RecipientStatus(account_id, hashed, reason, soft, recent)

    async def list_feedback(
        self, account_id: str, provider_id: str, kind: str, email: str, page_size: int, page_token: str
    ) -> tuple[list[FeedbackRecordView], str]:
        require(_list_violations(account_id, provider_id, kind, email, page_token))
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        where = FeedbackFilter(
            account_id=account_id,
            provider_id=provider_id,
            kind=kind,
            recipient_hash=recipient_hash(email) if email else "",
            before_sequence=int(page_token) if page_token else 0,
        )
        views = await self.read_model.list_records(where, size)
        return views, (str(views[-1].sequence) if len(views) == size else "")

    async def provider_stats(
        self, account_id: str, provider_id: str, window_days: int
    ) -> tuple[domain.ProviderRates, int]:
        violations = _account_violations(account_id) + _provider_violations(provider_id, required=True)
        if problem := domain.window_violation(window_days):
            violations.append(FieldViolation("window_days", problem))
        require(violations)
        days = domain.stats_window(window_days)
        counts = await self.read_model.counts(account_id, provider_id, domain.first_day_of_window(self.clock(), days))
        if counts == domain.FeedbackCounts() and not await self.read_model.provider_exists(account_id, provider_id):
            raise NotFound(f"provider {provider_id} not found")
        return domain.provider_rates(counts), days


async def publish_reputation_rates(read_model: FeedbackReadModel, now: datetime) -> None:
    """Every provider's bounce and complaint rates as gauges, for alerts near SES's review lines."""
    first_day = domain.first_day_of_window(now, domain.stats_window(0))
    for account_id, provider_id in await read_model.provider_keys():
        rates = domain.provider_rates(await read_model.counts(account_id, provider_id, first_day))
        BOUNCE_RATE.labels(account_id, provider_id).set(rates.bounce_rate)
        COMPLAINT_RATE.labels(account_id, provider_id).set(rates.complaint_rate)


def feedback_appends(account_id: str, events: list[domain.FeedbackEvent]) -> list[PendingAppend]:
    """The appends that record one SNS delivery's feedback, each deduplicated by its own msg id."""
    return [
        PendingAppend(
            new_event(
                e.payload, account_id=account_id, aggregate_type=domain.FEEDBACK_AGGREGATE, aggregate_id=e.aggregate_id
            ),
            msg_id=e.msg_id,
        )
        for e in events
    ]


def _provider_of(context: DeliveryContext, account_id: str, provider_id: str) -> ProviderTopics:
    # A provider of another account answers like a missing one: the URL must not reveal it exists.
    if context.provider is None or context.provider.account_id != account_id:
        raise SnsMessageError(f"no provider {provider_id} in account {account_id}: check the callback URL", 404)
    return context.provider


def _require_topic(provider: ProviderTopics, topic_arn: str, *, confirming: bool) -> TopicDecision:
    decision = domain.topic_decision(provider, topic_arn, confirming=confirming)
    if decision is TopicDecision.REFUSED:
        raise SnsMessageError(domain.refused_topic_reason(provider, topic_arn), 403)
    return decision


def _count_unrecorded(items: list) -> None:
    for item in items:
        if isinstance(item, (OtherFeedback, IgnoredFeedback)):
            FEEDBACK_NOT_RECORDED.labels(item.kind[:40]).inc()


def _account_violations(account_id: str) -> list[FieldViolation]:
    if is_identifier(account_id):
        return []
    return [FieldViolation("account_id", IDENTIFIER_RULE)]


def _provider_violations(provider_id: str, *, required: bool) -> list[FieldViolation]:
    if not provider_id:
        return [FieldViolation("provider_id", "is required")] if required else []
    if is_identifier(provider_id):
        return []
    return [FieldViolation("provider_id", IDENTIFIER_RULE)]


def _email_violations(field: str, email: str, *, required: bool) -> list[FieldViolation]:
    if not email and not required:
        return []
    problem = address_problem(email.strip())
    return [FieldViolation(field, problem)] if problem else []


def _list_violations(account_id: str, provider_id: str, kind: str, email: str, page_token: str) -> list[FieldViolation]:
    violations = _account_violations(account_id) + _provider_violations(provider_id, required=False)
    violations += _email_violations("email", email, required=False)
    if kind and kind not in RECORD_KINDS:
        violations.append(FieldViolation("kind", f"must be one of {', '.join(RECORD_KINDS)} (or empty for all)"))
    if page_token and not (page_token.isascii() and page_token.isdigit() and len(page_token) <= 19):
        violations.append(FieldViolation("page_token", "is not a token from a previous ListFeedback response"))
    return violations
