"""Unsubscribe use cases over the event store: one entry point for gRPC, the public page and complaints."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Callable

from google.protobuf.message import Message

from services.core.errors import FailedPrecondition, FieldViolation, InvalidArgument, require
from services.core.event_store import ConcurrencyConflict, EventStore
from services.core.events import SES_SUPPRESSION_REMOVAL_AGGREGATE, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import normalize_email, recipient_hash
from services.core.projection import READ_YOUR_WRITES_SECONDS, ProjectionRunner
from services.core.settings import Settings
from services.core.unsubscribe_token import (
    TokenClaims,
    UnsubscribeTokens,
    list_unsubscribe_headers,
    max_age_from_days,
    unsubscribe_url,
)
from services.unsubscribe import domain, metrics
from services.unsubscribe.domain import SubscriptionState, UnsubscribeCommand, UnsubscribeEntry
from services.unsubscribe.projection import UnsubscribeReadModel

log = logging.getLogger(__name__)

APPEND_ATTEMPTS = 5
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
KEY_MISSING = "unsubscribe links are not configured: set POSTROOM_UNSUBSCRIBE_KEY (see `postroom keygen --kid u1`)"

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class UnsubscribeLink:
    url: str
    token: str
    headers: dict[str, str]


def load_tokens(spec: str) -> UnsubscribeTokens | None:
    """None when no key is set: the service still answers, and says clearly what is missing."""
    if not spec.strip():
        log.error("POSTROOM_UNSUBSCRIBE_KEY is not set: unsubscribe links cannot be issued or honoured")
        return None
    return UnsubscribeTokens.from_spec(spec)


class UnsubscribeApplication:
    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        runner: ProjectionRunner,
        tokens: UnsubscribeTokens | None,
        clock: Clock = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.settings = settings
        self.store = store
        self.runner = runner
        self.tokens = tokens
        self.clock = clock
        self.read_model = UnsubscribeReadModel(runner.engine)

    # ---- commands ----

    async def unsubscribe(self, command: UnsubscribeCommand) -> SubscriptionState:
        changed, seq = await self.record_unsubscribe(command)
        return await self._status_after(command.account_id, command.recipient_hash, changed, seq)

    async def resubscribe(
        self, account_id: str, email: str, list_id: str, source: str, remove_from_ses: bool = False
    ) -> SubscriptionState:
        changed, seq = await self.record_resubscribe(account_id, email, list_id, source)
        # The whole log so far, not only this address's subject: SES listings come from config's events.
        state = await self._status_after(
            account_id, recipient_hash(email), changed, max(seq, await self.store.last_sequence())
        )
        if not (remove_from_ses and state.ses_suppressed_by):
            return state
        await self._request_ses_removal(account_id, email)
        return replace(state, ses_removal_requested=True)

    async def _request_ses_removal(self, account_id: str, email: str) -> None:
        """Config takes the address off SES's lists (it holds the SES keys) and records it."""
        request = events_pb2.SesSuppressionRemovalRequested(
            recipient_hash=recipient_hash(email), recipient=normalize_email(email), source="resubscribe"
        )
        await self.store.append_durably(
            new_event(
                request,
                account_id=account_id,
                aggregate_type=SES_SUPPRESSION_REMOVAL_AGGREGATE,
                aggregate_id=request.recipient_hash,
            ),
            patience=self.settings.append_patience,
        )

    async def record_unsubscribe(self, command: UnsubscribeCommand) -> tuple[bool, int]:
        """Durable on return, without waiting for the read model: what the one-click POST needs."""
        require(domain.unsubscribe_violations(command))
        changed, seq = await self._append_unless(
            command.account_id, domain.unsubscribed_payload(command), already=domain.is_unsubscribed
        )
        if changed:
            metrics.UNSUBSCRIBES.labels(command.source).inc()
        return changed, seq

    async def record_resubscribe(self, account_id: str, email: str, list_id: str, source: str) -> tuple[bool, int]:
        require(domain.resubscribe_violations(account_id, email, list_id, source))
        changed, seq = await self._append_unless(
            account_id,
            domain.resubscribed_payload(email, list_id, source),
            already=lambda last: not domain.is_unsubscribed(last),
        )
        if changed:
            metrics.RESUBSCRIBES.labels(source).inc()
        return changed, seq

    def command_from_token(self, claims: TokenClaims, source: str) -> UnsubscribeCommand:
        return UnsubscribeCommand(
            account_id=claims.account_id,
            email=claims.email,
            list_id=claims.list_id,
            source=source,
            dispatch_id=claims.dispatch_id,
        )

    async def unsubscribe_for_complaint(self, account_id: str, payload, causation_id: str, correlation_id: str) -> bool:
        """Append Unsubscribed(source=complaint) unless the address is already globally unsubscribed."""
        require(domain.account_violations(account_id))
        changed, _seq = await self._append_unless(
            account_id,
            payload,
            already=domain.is_unsubscribed,
            msg_id=f"unsubscribe-for-{causation_id}",
            causation_id=causation_id,
            correlation_id=correlation_id,
        )
        if changed:
            metrics.UNSUBSCRIBES.labels(domain.COMPLAINT).inc()
        return changed

    # ---- queries ----

    async def status(self, account_id: str, email: str, hash_hex: str = "") -> SubscriptionState:
        require(domain.status_violations(account_id, email, hash_hex))
        await self.runner.wait_for(await self.store.last_sequence(), READ_YOUR_WRITES_SECONDS)
        return await self.read_model.status(account_id, hash_hex or recipient_hash(email))

    async def list_unsubscribes(
        self, account_id: str, page_size: int, page_token: str
    ) -> tuple[list[UnsubscribeEntry], str]:
        require(domain.account_violations(account_id))
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        entries = await self.read_model.page(account_id, size, _after(page_token))
        last = entries[-1] if len(entries) == size else None
        return entries, (f"{last.recipient_hash}/{last.list_id}" if last else "")

    def create_link(self, account_id: str, email: str, list_id: str, dispatch_id: str) -> UnsubscribeLink:
        require(domain.link_violations(account_id, email, list_id, dispatch_id))
        tokens = self.require_tokens()
        token = tokens.issue(account_id, normalize_email(email), list_id, dispatch_id, issued_at=self.clock())
        headers = list_unsubscribe_headers(
            self.settings.unsubscribe_public_url, token, self.settings.unsubscribe_mailto
        )
        return UnsubscribeLink(unsubscribe_url(self.settings.unsubscribe_public_url, token), token, headers)

    def verify_token(self, token: str) -> TokenClaims:
        """Raises InvalidUnsubscribeToken; the caller must show nothing of why."""
        return self.require_tokens().verify(
            token, self.clock(), max_age_from_days(self.settings.unsubscribe_token_max_age_days)
        )

    def require_tokens(self) -> UnsubscribeTokens:
        if self.tokens is None:
            raise FailedPrecondition(KEY_MISSING)
        return self.tokens

    # ---- internals ----

    async def _append_unless(
        self,
        account_id: str,
        payload: Message,
        already,
        msg_id: str | None = None,
        causation_id: str = "",
        correlation_id: str = "",
    ) -> tuple[bool, int]:
        """Append `payload` to its subscription unless `already(last event)`.
        Returns (appended, the subscription's last stream sequence).

        Expected-sequence concurrency makes the check and the append one step: of two racing
        one-click POSTs, one appends and the other sees a conflict, re-reads, and appends nothing."""
        aggregate_id = domain.subscription_id(account_id, payload.recipient_hash, payload.list_id)
        for _ in range(APPEND_ATTEMPTS):
            last = await self.store.patiently(
                lambda: self.store.last_event(domain.AGGREGATE_TYPE, aggregate_id), self.settings.append_patience
            )
            if already(last.event if last else None):
                return False, last.stream_seq if last else 0
            event = new_event(
                payload,
                account_id=account_id,
                aggregate_type=domain.AGGREGATE_TYPE,
                aggregate_id=aggregate_id,
                causation_id=causation_id,
                correlation_id=correlation_id,
            )
            appended = await self.store.append_after(event, last, msg_id=msg_id, patience=self.settings.append_patience)
            if appended is not None:
                return not appended.duplicate, appended.stream_seq
        raise ConcurrencyConflict(self.store.subject_for(domain.AGGREGATE_TYPE, aggregate_id), -1)

    async def _status_after(self, account_id: str, hash_hex: str, changed: bool, seq: int) -> SubscriptionState:
        await self.runner.wait_for(seq, READ_YOUR_WRITES_SECONDS)
        state = await self.read_model.status(account_id, hash_hex)
        return replace(state, changed=changed)


def _after(page_token: str) -> tuple[str, str] | None:
    if not page_token:
        return None
    hash_hex, sep, list_id = page_token.partition("/")
    if not sep or len(hash_hex) != 64:
        raise InvalidArgument([FieldViolation("page_token", "is not a token from a previous page")])
    return hash_hex, list_id
