"""The shared rate's arithmetic (GCRA, AIMD, SES's daily quota), on a clock the tests hold."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given, settings, strategies as st

from services.dispatch import rate_limit
from services.dispatch.rate_limit import Grant, ProviderLimits, QuotaReached, RateState, Wait

LIMITS = ProviderLimits(max_send_rate=50.0)
NOW = 1_700_000_000.0


def test_an_idle_provider_may_spend_one_second_of_saved_up_tokens_at_once():
    state, grant = rate_limit.reserve(RateState(), NOW, 1, LIMITS)
    assert isinstance(grant, Grant)
    assert grant.count == 10  # a fifth of a second's worth per round trip
    assert grant.first == NOW - rate_limit.BURST_SECONDS
    assert state.tat == grant.first + 10 / 50


def test_nothing_is_reserved_further_ahead_than_half_a_second():
    state = RateState(tat=NOW + 0.6)
    unchanged, answer = rate_limit.reserve(state, NOW, 1, LIMITS)
    assert unchanged is state
    assert answer == Wait(NOW + 0.6 - rate_limit.RESERVE_AHEAD_SECONDS)


def test_a_send_of_many_recipients_takes_as_many_tokens():
    _, grant = rate_limit.reserve(RateState(), NOW, 50, ProviderLimits(14.0))
    assert grant.count == 50


def test_a_throttling_answer_halves_the_rate_once_a_second_and_it_grows_back():
    cut = rate_limit.cut(RateState(), NOW)
    assert cut is not None and rate_limit.effective_rate(LIMITS, cut, NOW) == 25.0
    assert rate_limit.cut(cut, NOW + 0.5) is None  # the other replicas' 454s of that moment
    again = rate_limit.cut(cut, NOW + 1.0)
    assert rate_limit.effective_rate(LIMITS, again, NOW + 1.0) == pytest.approx(50 * (0.5 + 0.1) * 0.5)
    assert rate_limit.effective_rate(LIMITS, cut, NOW + 5.0) == 50.0  # +10% of the limit a second


def test_under_throttling_every_second_the_rate_settles_low_but_never_below_the_floor():
    state = RateState()
    for second in range(60):
        state = rate_limit.cut(state, NOW + second) or state
    factor = rate_limit.rate_factor(state, NOW + 59)
    assert rate_limit.MIN_FACTOR <= factor < 0.15
    stuck = RateState(cut_factor=0.0, cut_at=NOW)
    assert rate_limit.rate_factor(rate_limit.cut(stuck, NOW + 1), NOW + 1) == rate_limit.MIN_FACTOR


def test_the_daily_quota_stops_reservations_at_the_quota_and_says_when_they_resume():
    limits = ProviderLimits(max_send_rate=10.0, daily_quota=120)
    state, granted, blocks = RateState(), 0, []
    while granted < 120:
        state, grant = rate_limit.reserve(state, NOW, 1, limits)
        granted += grant.count
        blocks.append(grant.count)
        state = replace(state, tat=NOW - 1)  # (no pacing: only the quota is tested)
    assert granted == 120 and blocks[0] == 2 and blocks[-1] == 1  # near the end, one token per send
    unchanged, answer = rate_limit.reserve(state, NOW + 60, 1, limits)
    assert isinstance(answer, QuotaReached) and unchanged is state
    assert answer.used == 120 and answer.quota == 120
    assert (
        NOW + rate_limit.DAY_SECONDS <= answer.until <= NOW + rate_limit.DAY_SECONDS + rate_limit.QUOTA_BUCKET_SECONDS
    )
    assert "resumes" in answer.reason() and "Max24HourSend" in answer.reason()
    _, later = rate_limit.reserve(state, answer.until, 1, limits)
    assert isinstance(later, Grant)


def test_far_from_the_quota_whole_blocks_are_taken():
    _, grant = rate_limit.reserve(RateState(), NOW, 1, ProviderLimits(max_send_rate=50.0, daily_quota=50_000))
    assert grant.count == 10


def test_the_state_survives_its_json_form():
    state = RateState(tat=NOW + 0.25, cut_factor=0.4, cut_at=NOW, sent=((1888888, 12), (1888889, 3)))
    assert RateState.from_json(state.to_json()) == state
    assert RateState.from_json(None) == RateState()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), rate=st.sampled_from([5.0, 14.0, 50.0, 400.0]))
def test_however_replicas_interleave_no_window_gets_more_than_the_rate_plus_the_burst(seed, rate):
    """Blocks taken at random moments (by whichever replica wins the compare-and-set), each token
    spent when it is due: no 5 s window spends more than 5 s of rate, one second of burst and a block."""
    chance = random.Random(seed)
    limits = ProviderLimits(rate)
    state, now, spent = RateState(), NOW, []
    while now < NOW + 20:
        now += chance.uniform(0, 0.2)
        state, answer = rate_limit.reserve(state, now, 1, limits)
        if isinstance(answer, Grant):
            spent += [max(now, due) for due in answer.due_times()]  # a token is spent no earlier than granted
    spent.sort()
    block = rate_limit.block_size(rate, 1)
    end = 0
    for first, start in enumerate(spent):
        while end < len(spent) and spent[end] < start + 5.0:
            end += 1
        assert end - first <= 5 * rate + rate * rate_limit.BURST_SECONDS + block
