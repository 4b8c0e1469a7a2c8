from datetime import UTC, datetime

from services.ses_sim.sending_rules import QUOTA_EXCEEDED, RATE_EXCEEDED
from services.ses_sim.ses_ids import ses_message_id
from services.ses_sim.throttle import DAY_SECONDS, DailyQuota, SendingLimits, SendRate


def test_rate_allows_a_second_of_burst_then_one_per_interval():
    limits = SendingLimits.of(per_second=2, daily_quota=1000, now=0.0)
    assert [limits.admit(1, 0.0) for _ in range(3)] == [None, None, RATE_EXCEEDED]
    assert limits.admit(1, 0.4) == RATE_EXCEEDED
    assert limits.admit(1, 0.5) is None


def test_recipients_count_against_the_rate():
    limits = SendingLimits.of(per_second=14, daily_quota=1000, now=0.0)
    assert limits.admit(10, 0.0) is None
    assert limits.admit(5, 0.0) == RATE_EXCEEDED
    assert limits.admit(4, 0.0) is None


def test_a_message_larger_than_the_bucket_passes_when_full_and_leaves_a_debt():
    rate = SendRate.full(1, 0.0)
    assert rate.allows(50, 0.0)
    rate.take(50)
    assert not rate.allows(1, 48.0)
    assert rate.allows(1, 50.0)


def test_the_daily_quota_is_a_rolling_24_hours():
    limits = SendingLimits.of(per_second=1000, daily_quota=3, now=0.0)
    assert [limits.admit(1, t) for t in (0.0, 10.0, 20.0)] == [None, None, None]
    assert limits.admit(1, 30.0) == QUOTA_EXCEEDED
    assert limits.admit(1, DAY_SECONDS + 0.5) is None
    assert limits.quota.sent_last_24_hours(DAY_SECONDS + 0.5) == 3


def test_refused_messages_are_not_counted():
    quota = DailyQuota(2)
    limits = SendingLimits(SendRate.full(1, 0.0), quota)
    limits.admit(1, 0.0)
    assert limits.admit(1, 0.1) == RATE_EXCEEDED
    assert quota.sent_last_24_hours(0.1) == 1


def test_ses_message_ids_look_like_ses_ones():
    message_id = ses_message_id(datetime(2024, 1, 1, tzinfo=UTC))
    head, *middle, tail = message_id.split("-")
    assert head == "0100018cc251f400" and tail == "000000" and len(middle) == 5


def test_a_lowered_rate_holds_from_now_and_keeps_no_more_than_its_new_capacity():
    limits = SendingLimits.of(per_second=10, daily_quota=1000, now=0.0)
    limits.resize(1, 1000, now=0.0)
    assert limits.admit(1, 0.0) is None
    assert limits.admit(1, 0.5) == RATE_EXCEEDED
    assert limits.admit(1, 1.0) is None


def test_a_raised_rate_refills_faster_from_the_moment_it_changes():
    limits = SendingLimits.of(per_second=1, daily_quota=1000, now=0.0)
    assert limits.admit(1, 0.0) is None
    limits.resize(100, 1000, now=0.0)
    assert [limits.admit(1, 0.1) for _ in range(10)] == [None] * 10


def test_a_lowered_quota_counts_what_was_already_sent():
    limits = SendingLimits.of(per_second=100, daily_quota=1000, now=0.0)
    assert limits.admit(5, 0.0) is None
    limits.resize(100, 6, now=1.0)
    assert limits.admit(1, 1.0) is None
    assert limits.admit(1, 1.0) == QUOTA_EXCEEDED
