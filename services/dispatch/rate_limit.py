"""One send rate per provider, shared by every dispatch replica (pure: the state and its arithmetic).

The state lives in one JetStream KV entry per provider (`shared_rate.py` does the I/O) and is
changed only by compare-and-set, so any number of replicas, starting, stopping or dying, share
the provider's rate without knowing how many they are:

* **GCRA** (a token bucket written as one time): `tat`, the moment the next token is due. A
  replica takes a block of tokens by moving `tat` forward; the block's tokens are due one
  interval apart, and the replica spends them at those times. Up to one second of tokens may be
  saved up (SES lets one second's worth through at once), and no replica reserves further ahead
  than RESERVE_AHEAD_SECONDS, so a replica killed with -9 takes at most that much rate with it.
* **AIMD**: a `454 Throttling` (AWS may lower an account's rate without notice) halves the rate,
  at most once a second however many replicas saw it; it then grows back linearly.
* **SES's daily quota** (Max24HourSend, counted in recipients like the rate): every reserved token
  is counted in 15-minute buckets over a rolling 24 hours, and nothing is reserved past the quota.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import datetime, timezone

BURST_SECONDS = 1.0  # tokens that may be saved up, in seconds of rate
RESERVE_AHEAD_SECONDS = 0.5  # how far ahead of now tokens may be reserved
BLOCK_SECONDS = 0.2  # one round trip takes this much rate (at least the tokens one send needs)
MAX_BLOCK = 500
CUT_FACTOR = 0.5  # a throttling answer halves the rate...
CUT_COOLDOWN_SECONDS = 1.0  # ...at most once a second...
RECOVERY_PER_SECOND = 0.1  # ...and it grows back by 10% of the limit each second
MIN_FACTOR = 0.05
MIN_RATE = 0.1  # recipients per second: never stop altogether on throttling
QUOTA_BUCKET_SECONDS = 900
QUOTA_CAREFUL_BLOCKS = 10  # with less quota left than this many blocks, reserve per send
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class ProviderLimits:
    """What the provider may send: its own max_send_rate, capped by SES's MaxSendRate, and SES's
    Max24HourSend (0 = not known: no daily limit is applied)."""

    max_send_rate: float
    daily_quota: int = 0


@dataclass(frozen=True)
class RateState:
    tat: float = 0.0  # unix seconds at which the next token is due
    cut_factor: float = 1.0  # the fraction of the limit right after the last cut
    cut_at: float = 0.0
    sent: tuple[tuple[int, int], ...] = ()  # (15-minute bucket, recipients) within the last day

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "tat": self.tat,
                "cut_factor": self.cut_factor,
                "cut_at": self.cut_at,
                "sent": [list(bucket) for bucket in self.sent],
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes | None) -> "RateState":
        if not data:
            return cls()
        raw = json.loads(data)
        return cls(
            float(raw["tat"]),
            float(raw["cut_factor"]),
            float(raw["cut_at"]),
            tuple((int(b), int(n)) for b, n in raw.get("sent", ())),
        )


@dataclass(frozen=True)
class Grant:
    """Tokens reserved: the i-th may be spent at `first + i * interval`."""

    first: float
    interval: float
    count: int

    def due_times(self) -> list[float]:
        return [self.first + i * self.interval for i in range(self.count)]


@dataclass(frozen=True)
class Wait:
    """Nothing reserved: ask again at `until` (the queue of tokens is long enough already)."""

    until: float


@dataclass(frozen=True)
class QuotaReached:
    """SES's daily quota is used up until `until`, when the rolling 24-hour window frees enough."""

    until: float
    quota: int
    used: int

    def reason(self) -> str:
        at = datetime.fromtimestamp(self.until, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"SES daily sending quota reached: {self.used:,} of {self.quota:,} recipients in the last 24 hours "
            f"(Max24HourSend); sending resumes about {at}, as the 24-hour window rolls on"
        )


def rate_factor(state: RateState, now: float) -> float:
    """The fraction of the limit in force: the last cut, grown back linearly since."""
    return min(1.0, state.cut_factor + max(0.0, now - state.cut_at) * RECOVERY_PER_SECOND)


def effective_rate(limits: ProviderLimits, state: RateState, now: float) -> float:
    return max(MIN_RATE, limits.max_send_rate * rate_factor(state, now))


def block_size(rate: float, needed: int) -> int:
    return max(needed, min(MAX_BLOCK, math.ceil(rate * BLOCK_SECONDS)))


def reserve(
    state: RateState, now: float, needed: int, limits: ProviderLimits
) -> tuple[RateState, Grant | Wait | QuotaReached]:
    """Take a block of at least `needed` tokens, or say when to ask again. The state comes back
    unchanged unless tokens were granted."""
    rate = effective_rate(limits, state, now)
    start = max(state.tat, now - BURST_SECONDS)
    if start > now + RESERVE_AHEAD_SECONDS:
        return state, Wait(start - RESERVE_AHEAD_SECONDS)
    count = block_size(rate, needed)
    sent = _within_day(state.sent, now)
    if limits.daily_quota:
        used = sum(n for _, n in sent)
        left = limits.daily_quota - used
        # Near the end of the quota take only what this send needs: tokens reserved and not spent
        # still count against the quota, and another replica may need them.
        count = needed if left < QUOTA_CAREFUL_BLOCKS * count else count
        if left < needed:
            return state, QuotaReached(_quota_frees_at(sent, needed, limits.daily_quota), limits.daily_quota, used)
    interval = 1.0 / rate
    granted = replace(state, tat=start + count * interval, sent=_counted(sent, now, count))
    return granted, Grant(start, interval, count)


def cut(state: RateState, now: float) -> RateState | None:
    """SES answered `454 Throttling`: halve the rate in force, unless it was cut a moment ago."""
    if now - state.cut_at < CUT_COOLDOWN_SECONDS:
        return None
    return replace(state, cut_factor=max(MIN_FACTOR, rate_factor(state, now) * CUT_FACTOR), cut_at=now)


def used_last_day(state: RateState, now: float) -> int:
    return sum(n for _, n in _within_day(state.sent, now))


def quota_reached(state: RateState, now: float, limits: ProviderLimits) -> QuotaReached | None:
    """Whether the next send would wait for the quota (for GetDispatch and the metrics)."""
    if not limits.daily_quota:
        return None
    sent = _within_day(state.sent, now)
    used = sum(n for _, n in sent)
    if used < limits.daily_quota:
        return None
    return QuotaReached(_quota_frees_at(sent, 1, limits.daily_quota), limits.daily_quota, used)


def _bucket(now: float) -> int:
    return int(now // QUOTA_BUCKET_SECONDS)


def _within_day(sent: tuple[tuple[int, int], ...], now: float) -> tuple[tuple[int, int], ...]:
    """The buckets that still count: a bucket leaves the window once all of it is older than a day."""
    oldest = _bucket(now - DAY_SECONDS)
    return tuple((bucket, n) for bucket, n in sent if bucket > oldest)


def _counted(sent: tuple[tuple[int, int], ...], now: float, count: int) -> tuple[tuple[int, int], ...]:
    current = _bucket(now)
    if sent and sent[-1][0] == current:
        return (*sent[:-1], (current, sent[-1][1] + count))
    return (*sent, (current, count))


def _quota_frees_at(sent: tuple[tuple[int, int], ...], needed: int, quota: int) -> float:
    """When enough old buckets have left the window for `needed` more recipients."""
    used = sum(n for _, n in sent)
    for bucket, n in sent:
        used -= n
        if used + needed <= quota:
            return (bucket + 1) * QUOTA_BUCKET_SECONDS + DAY_SECONDS
    return (sent[-1][0] + 1) * QUOTA_BUCKET_SECONDS + DAY_SECONDS if sent else 0.0
