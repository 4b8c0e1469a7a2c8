"""Appends a process owes the event log: facts already true outside it, such as an email SES took.

Such an append is retried until it lands, however long the log is away: dropping it would lose
the fact, and giving the work back would do it twice (send the email again). One that has waited
longer than the deadline (POSTROOM_LOG_OUTAGE_DEADLINE) means the log has been away too long:
the service stops taking new work and reports NOT_SERVING with the reason, until every owed
append has landed.
"""

from __future__ import annotations

import itertools
import logging
import time
from contextlib import contextmanager
from typing import Iterator

from services.core.metrics import EVENT_LOG_OVERDUE, OWED_APPENDS

log = logging.getLogger(__name__)


class OwedAppends:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._waiting_since: dict[int, float] = {}
        self._tokens = itertools.count()
        self._reported: str | None = None
        OWED_APPENDS.set_function(lambda: len(self._waiting_since))
        EVENT_LOG_OVERDUE.set_function(lambda: 1 if self.overdue_reason() else 0)

    @contextmanager
    def owing(self, what: str = "an event") -> Iterator[None]:
        token = next(self._tokens)
        self._waiting_since[token] = time.monotonic()
        try:
            yield
        finally:
            del self._waiting_since[token]
            self._log_change()

    @property
    def count(self) -> int:
        return len(self._waiting_since)

    def overdue_reason(self, now: float | None = None) -> str | None:
        """Why the service must not take new work, or None."""
        if not self._waiting_since:
            return None
        waited = (now if now is not None else time.monotonic()) - min(self._waiting_since.values())
        if waited < self.deadline:
            return None
        return (
            f"the event log has not confirmed {len(self._waiting_since)} owed append(s) for {waited:.0f} s "
            f"(deadline {self.deadline:g} s, POSTROOM_LOG_OUTAGE_DEADLINE): taking no new work until they land"
        )

    def _log_change(self) -> str | None:
        reason = self.overdue_reason()
        if (reason is None) != (self._reported is None):
            if reason:
                log.error("event log overdue; not serving", extra={"reason": reason})
            else:
                log.warning("event log caught up; serving again")
        self._reported = reason
        return reason

    def watch(self) -> str | None:
        """Re-evaluate (a service calls this every second) and log when the state changes."""
        return self._log_change()
