"""Which dispatches a listing or a retry covers (pure): the filter, its checks, and the page cursor.

Listings run newest first by stream sequence, so a page token is the sequence of the last
dispatch shown: stable while new mail keeps arriving at the head.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from services.core.email_address import address_problem
from services.core.errors import FieldViolation, InvalidArgument
from services.core.ids import recipient_hash
from services.dispatch.domain import STATUSES

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_RETRIED_PER_CALL = 1000  # one SendEmailBatch's worth; narrow the filter for more


@dataclass(frozen=True)
class DispatchFilter:
    statuses: tuple[str, ...] = ()
    provider_id: str = ""
    list_id: str = ""
    tag_name: str = ""
    tag_value: str | None = None  # None: any value of tag_name
    recipient_hash: str = ""
    queued_after_ms: int | None = None  # inclusive
    queued_before_ms: int | None = None  # exclusive


def dispatch_filter(
    statuses: tuple[str, ...] = (),
    provider_id: str = "",
    list_id: str = "",
    tag: str = "",
    recipient: str = "",
    queued_after_ms: int | None = None,
    queued_before_ms: int | None = None,
    field_prefix: str = "filter",
) -> DispatchFilter:
    """The filter a caller described, or InvalidArgument naming each field that is wrong."""
    violations = []
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        violations.append(FieldViolation(f"{field_prefix}.statuses", f"unknown status {unknown[0]!r}"))
    if recipient and (problem := address_problem(recipient)):
        violations.append(FieldViolation(f"{field_prefix}.recipient", problem))
    name, has_value, value = tag.partition("=")
    if tag and not name:
        violations.append(FieldViolation(f"{field_prefix}.tag", "give name=value, or name for any value"))
    if queued_after_ms is not None and queued_before_ms is not None and queued_before_ms <= queued_after_ms:
        violations.append(FieldViolation(f"{field_prefix}.queued_before", "must be later than queued_after"))
    if violations:
        raise InvalidArgument(violations)
    return DispatchFilter(
        tuple(dict.fromkeys(statuses)),
        provider_id,
        list_id,
        name,
        value if has_value else None,
        recipient_hash(recipient) if recipient else "",
        queued_after_ms,
        queued_before_ms,
    )


def page_size(requested: int) -> int:
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_page_token(last_seq: int) -> str:
    return base64.urlsafe_b64encode(f"before:{last_seq}".encode()).decode()


def decode_page_token(token: str) -> int | None:
    """The stream sequence a page continues below, or None for the first page."""
    if not token:
        return None
    try:
        kind, _, seq = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "before" and seq.isdigit():
            return int(seq)
    except ValueError:
        pass
    raise InvalidArgument([FieldViolation("page_token", "is not a token this service gave out")])


def retry_idempotency_key(retry_key: str, original_dispatch_id: str) -> str:
    """One retry key names one new dispatch per original: calling again re-queues nothing."""
    return f"retry:{retry_key}:{original_dispatch_id}"
