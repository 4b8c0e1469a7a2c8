"""SES's sending limits: a maximum send rate and a rolling 24-hour quota, both counted in recipients. Pure.

Times are seconds on any monotonic clock, passed in, so the math is tested without waiting.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from services.ses_sim.sending_rules import QUOTA_EXCEEDED, RATE_EXCEEDED

DAY_SECONDS = 24 * 60 * 60


@dataclass
class SendRate:
    """A token bucket holding up to one second's worth of sends (at least one message).

    A message with more recipients than the bucket holds is let through when the bucket is full and
    leaves it in debt, so large messages are slowed down rather than refused forever.
    """

    per_second: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, per_second: float, now: float) -> "SendRate":
        return cls(per_second, max(1.0, per_second), now)

    @property
    def capacity(self) -> float:
        return max(1.0, self.per_second)

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.per_second)
        self.updated = now

    def allows(self, recipients: int, now: float) -> bool:
        self.refill(now)
        return self.tokens >= min(recipients, self.capacity)

    def take(self, recipients: int) -> None:
        self.tokens -= recipients

    def change_rate(self, per_second: float, now: float) -> None:
        """From `now` on, refill at the new rate; what was earned at the old rate is kept, up to the new
        capacity (a lowered rate takes effect at once, as when SES lowers a quota)."""
        self.refill(now)
        self.per_second = per_second
        self.tokens = min(self.tokens, self.capacity)


@dataclass
class DailyQuota:
    limit: int
    _sends: deque[tuple[float, int]] = field(default_factory=deque)
    _total: int = 0

    def sent_last_24_hours(self, now: float) -> int:
        while self._sends and self._sends[0][0] <= now - DAY_SECONDS:
            self._total -= self._sends.popleft()[1]
        return self._total

    def allows(self, recipients: int, now: float) -> bool:
        return self.sent_last_24_hours(now) + recipients <= self.limit

    def take(self, recipients: int, now: float) -> None:
        self._sends.append((now, recipients))
        self._total += recipients


@dataclass
class SendingLimits:
    rate: SendRate
    quota: DailyQuota

    @classmethod
    def of(cls, per_second: float, daily_quota: int, now: float) -> "SendingLimits":
        return cls(SendRate.full(per_second, now), DailyQuota(daily_quota))

    def admit(self, recipients: int, now: float) -> str | None:
        """Count the message and return None, or return the 454 SES answers (and count nothing)."""
        if not self.quota.allows(recipients, now):
            return QUOTA_EXCEEDED
        if not self.rate.allows(recipients, now):
            return RATE_EXCEEDED
        self.quota.take(recipients, now)
        self.rate.take(recipients)
        return None

    def resize(self, per_second: float, daily_quota: int, now: float) -> None:
        """New limits, effective for the next message (the sends of the last 24 hours still count)."""
        if per_second != self.rate.per_second:
            self.rate.change_rate(per_second, now)
        self.quota.limit = daily_quota
