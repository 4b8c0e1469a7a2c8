"""Unsubscribe rules (pure): who may be unsubscribed, from what, and when an event is due.

One aggregate "subscription" per account + recipient hash + list (an empty list = every list).
Its last event is its state: Unsubscribed or Resubscribed (no event yet = subscribed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from services.core.email_address import address_problem, text_problem
from services.core.errors import FieldViolation
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import IDENTIFIER_RULE, is_identifier, name_based_id, normalize_email, recipient_hash

AGGREGATE_TYPE = "subscription"
ONE_CLICK = "one-click"  # RFC 8058 POST from a mailbox provider
LINK = "link"  # the landing page's button
API = "api"
COMPLAINT = "complaint"  # an SES complaint: the recipient marked the mail as spam
UNSUBSCRIBE_SOURCES = frozenset({ONE_CLICK, LINK, API, COMPLAINT})
RESUBSCRIBE_SOURCES = frozenset({LINK, API})
MAX_LIST_ID = 128
MAX_REASON = 500

_RECIPIENT_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class UnsubscribeCommand:
    account_id: str
    email: str
    list_id: str = ""
    reason: str = ""
    source: str = API
    dispatch_id: str = ""

    @property
    def recipient_hash(self) -> str:
        return recipient_hash(self.email)


@dataclass(frozen=True)
class SubscriptionState:
    account_id: str
    recipient_hash: str
    globally_unsubscribed: bool
    unsubscribed_lists: tuple[str, ...]
    changed: bool = False
    ses_suppressed_by: tuple[str, ...] = ()  # providers whose SES suppression list holds the address
    ses_removal_requested: bool = False

    def blocks(self, list_id: str) -> bool:
        """Whether mail for `list_id` must not go to this address."""
        return self.globally_unsubscribed or (bool(list_id) and list_id in self.unsubscribed_lists)


@dataclass(frozen=True)
class UnsubscribeEntry:
    recipient_hash: str
    list_id: str
    reason: str
    source: str
    dispatch_id: str
    unsubscribed_at: datetime


def subscription_id(account_id: str, recipient_hash_hex: str, list_id: str) -> str:
    return name_based_id(account_id, recipient_hash_hex, list_id)


def is_unsubscribed(last: events_pb2.Event | None) -> bool:
    return last is not None and last.WhichOneof("payload") == "unsubscribed"


def unsubscribe_violations(command: UnsubscribeCommand) -> list[FieldViolation]:
    violations = _identity_violations(command.account_id, command.email, command.list_id)
    if problem := text_problem(command.reason, max_length=MAX_REASON):
        violations.append(FieldViolation("reason", problem))
    if command.source not in UNSUBSCRIBE_SOURCES:
        violations.append(FieldViolation("source", f"must be one of {', '.join(sorted(UNSUBSCRIBE_SOURCES))}"))
    if problem := text_problem(command.dispatch_id, max_length=64):
        violations.append(FieldViolation("dispatch_id", problem))
    return violations


def resubscribe_violations(account_id: str, email: str, list_id: str, source: str) -> list[FieldViolation]:
    violations = _identity_violations(account_id, email, list_id)
    if source not in RESUBSCRIBE_SOURCES:
        violations.append(FieldViolation("source", f"must be one of {', '.join(sorted(RESUBSCRIBE_SOURCES))}"))
    return violations


def link_violations(account_id: str, email: str, list_id: str, dispatch_id: str) -> list[FieldViolation]:
    violations = _identity_violations(account_id, email, list_id)
    if problem := text_problem(dispatch_id, max_length=64):
        violations.append(FieldViolation("dispatch_id", problem))
    return violations


def status_violations(account_id: str, email: str, hash_hex: str) -> list[FieldViolation]:
    violations = account_violations(account_id)
    if email and hash_hex:
        violations.append(FieldViolation("recipient_hash", "give either email or recipient_hash, not both"))
    elif hash_hex and not _RECIPIENT_HASH.fullmatch(hash_hex):
        violations.append(FieldViolation("recipient_hash", "must be 64 lowercase hex digits (SHA-256)"))
    elif not hash_hex and (problem := address_problem(normalize_email(email))):
        violations.append(FieldViolation("email", problem))
    return violations


def account_violations(account_id: str) -> list[FieldViolation]:
    if not is_identifier(account_id):
        return [FieldViolation("account_id", f"is required: {IDENTIFIER_RULE}")]
    return []


def _identity_violations(account_id: str, email: str, list_id: str) -> list[FieldViolation]:
    violations = account_violations(account_id)
    if problem := address_problem(normalize_email(email)):
        violations.append(FieldViolation("email", problem))
    if problem := text_problem(list_id, max_length=MAX_LIST_ID):
        violations.append(FieldViolation("list_id", problem))
    return violations


def unsubscribed_payload(command: UnsubscribeCommand) -> events_pb2.Unsubscribed:
    return events_pb2.Unsubscribed(
        recipient_hash=command.recipient_hash,
        recipient=normalize_email(command.email),
        list_id=command.list_id,
        reason=command.reason,
        source=command.source,
        dispatch_id=command.dispatch_id,
    )


def resubscribed_payload(email: str, list_id: str, source: str) -> events_pb2.Resubscribed:
    return events_pb2.Resubscribed(
        recipient_hash=recipient_hash(email), recipient=normalize_email(email), list_id=list_id, source=source
    )


def complaint_unsubscribe(complaint: events_pb2.ComplaintReceived) -> events_pb2.Unsubscribed | None:
    """A complaint (the recipient pressed "spam") unsubscribes the address from every list."""
    hash_hex = complaint.recipient_hash or (recipient_hash(complaint.recipient) if complaint.recipient else "")
    if not _RECIPIENT_HASH.fullmatch(hash_hex):
        return None
    reason = f"complaint: {complaint.feedback_type}" if complaint.feedback_type else "complaint"
    return events_pb2.Unsubscribed(
        recipient_hash=hash_hex,
        recipient="",
        list_id="",
        reason=reason[:MAX_REASON],
        source=COMPLAINT,
        dispatch_id=complaint.dispatch_id,
    )
