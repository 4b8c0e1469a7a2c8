"""The provider token bucket's arithmetic, on a clock the test holds."""

from __future__ import annotations

import pytest

from services.dispatch.rate_limit import TokenBucket


def test_a_full_bucket_allows_a_burst_then_spaces_callers_at_the_rate():
    bucket = TokenBucket.full(rate=10.0, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(12)]
    assert waits[:10] == [0.0] * 10
    assert waits[10:] == pytest.approx([0.1, 0.2])


def test_tokens_refill_with_time_but_never_past_the_burst():
    bucket = TokenBucket.full(rate=2.0, now=0.0)
    for _ in range(2):
        bucket.reserve(0.0)
    assert bucket.reserve(0.5) == 0.0
    assert bucket.reserve(100.0) == 0.0
    assert bucket.tokens == pytest.approx(1.0)


def test_over_a_long_run_the_rate_is_kept():
    bucket = TokenBucket.full(rate=14.0, now=0.0)
    last_wait = 0.0
    for _ in range(14 * 60 + 14):
        last_wait = bucket.reserve(0.0)
    assert last_wait == pytest.approx(60.0)     # 60 s of sends at 14/s after the first second's burst
