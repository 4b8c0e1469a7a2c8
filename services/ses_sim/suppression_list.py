"""SES's suppression list: addresses SES will not send to, each with the reason and when it was added. Pure.

The account has one per region; a tenant whose suppression scope is TENANT has its own. SES accepts a
message to a suppressed address and then reports a bounce (subtype OnAccountSuppressionList) instead
of sending it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.ses_sim.errors import InvalidValue, NotFound
from services.ses_sim.paging import one_page, page_size_of

SUPPRESSION_REASONS = ("BOUNCE", "COMPLAINT")
MAX_PAGE_SIZE = 1000  # ListSuppressedDestinations answers at most 1,000 addresses a page


def _key(address: str) -> str:
    return address.strip().lower()


def require_reason(reason: object, field: str = "Reason") -> str:
    if reason not in SUPPRESSION_REASONS:
        raise InvalidValue(field, f"{field} must be BOUNCE or COMPLAINT, not {reason!r}.")
    return reason


def require_address(address: object, field: str = "EmailAddress") -> str:
    text = address.strip() if isinstance(address, str) else ""
    local, at, domain = text.rpartition("@")
    if not (local and at and "." in domain) or any(c.isspace() for c in text):
        raise InvalidValue(field, f"{field} must be an email address, not {address!r}.")
    return text


@dataclass(frozen=True)
class SuppressedDestination:
    email_address: str
    reason: str
    last_update_time: datetime
    message_id: str | None = None
    feedback_id: str | None = None


@dataclass(frozen=True)
class SuppressionQuery:
    reasons: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    def matches(self, entry: SuppressedDestination) -> bool:
        return (
            (not self.reasons or entry.reason in self.reasons)
            and (self.start is None or entry.last_update_time >= self.start)
            and (self.end is None or entry.last_update_time <= self.end)
        )


class SuppressionList:
    def __init__(self) -> None:
        self._entries: dict[str, SuppressedDestination] = {}

    def put(self, address: str, reason: str, now: datetime) -> SuppressedDestination:
        """Add `address`, or change its reason; either way its LastUpdateTime is `now`, as in SES."""
        entry = SuppressedDestination(require_address(address), require_reason(reason), now)
        self._entries[_key(entry.email_address)] = entry
        return entry

    def seed(self, entries: Iterable[tuple[str, str]], now: datetime) -> None:
        for address, reason in entries:
            self.put(address, reason, now)

    def get(self, address: str) -> SuppressedDestination:
        entry = self._entries.get(_key(address))
        if entry is None:
            raise NotFound(f"Email address {address} does not exist on your suppression list.")
        return entry

    def delete(self, address: str) -> SuppressedDestination:
        entry = self.get(address)
        del self._entries[_key(address)]
        return entry

    def suppressing(self, address: str, reasons: Iterable[str]) -> SuppressedDestination | None:
        """The entry that stops mail to `address`, if its reason is one of `reasons`."""
        entry = self._entries.get(_key(address))
        return entry if entry is not None and entry.reason in tuple(reasons) else None

    def page(
        self, query: SuppressionQuery, page_size: int | None, next_token: str | None
    ) -> tuple[list[SuppressedDestination], str | None]:
        size = page_size_of(page_size, MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        matching = [entry for entry in self._entries.values() if query.matches(entry)]
        return one_page(matching, lambda entry: _key(entry.email_address), size, next_token)

    def all(self) -> list[SuppressedDestination]:
        return sorted(self._entries.values(), key=lambda entry: _key(entry.email_address))

    def __len__(self) -> int:
        return len(self._entries)
