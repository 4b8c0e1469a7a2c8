"""Appends a process owes the log: overdue past the deadline, and caught up once they land."""

from __future__ import annotations

import time

from services.core.owed_appends import OwedAppends


def test_an_owed_append_is_overdue_only_past_the_deadline_and_not_once_it_landed():
    owed = OwedAppends(deadline=30.0)
    assert owed.overdue_reason() is None
    with owed.owing():
        now = time.monotonic()
        assert owed.overdue_reason(now + 29) is None
        reason = owed.overdue_reason(now + 31)
        assert reason is not None and "POSTROOM_LOG_OUTAGE_DEADLINE" in reason and "1 owed append" in reason
        assert owed.count == 1
    assert owed.count == 0
    assert owed.overdue_reason(time.monotonic() + 3600) is None


def test_the_oldest_owed_append_decides():
    owed = OwedAppends(deadline=10.0)
    with owed.owing():
        started = time.monotonic()
        with owed.owing():
            assert "2 owed append" in owed.overdue_reason(started + 11)
