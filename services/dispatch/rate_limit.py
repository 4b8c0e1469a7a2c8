"""The token bucket that keeps a provider under its SES maximum send rate (pure math + one await)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass
class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up. `reserve` hands out a token now or a
    wait: the balance may go negative, which queues callers fairly without a lock."""

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, now: float, burst: float | None = None) -> "TokenBucket":
        size = burst if burst is not None else max(1.0, rate)
        return cls(rate=rate, burst=size, tokens=size, updated=now)

    def reserve(self, now: float) -> float:
        """Take one token; return how many seconds the caller must wait before using it."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RateLimiter:
    """A TokenBucket on the monotonic clock, shared by every connection to one provider."""

    def __init__(self, rate: float) -> None:
        self.bucket = TokenBucket.full(rate, time.monotonic())

    async def acquire(self) -> float:
        wait = self.bucket.reserve(time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)
        return wait
