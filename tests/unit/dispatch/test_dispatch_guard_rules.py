"""The deliverability guard's rules (pure): the trailing window, the lines, and what each pause holds."""

from __future__ import annotations

from services.core.settings import Settings
from services.dispatch import guard
from services.dispatch.guard import GuardLines, Scope, SendRecord, TrailingRates
from services.dispatch.pauses import Cause, Pause, holding, is_active, ses_account_pause, ses_tenant_pause

NOW = 1_800_000_000.0
DAY = guard.SECONDS_PER_DAY
LINES = GuardLines()


def sends(count: int, *, bounced: int = 0, complained: int = 0, at: float = NOW) -> list[SendRecord]:
    return [SendRecord(at, i < bounced, i < complained) for i in range(count)]


def test_the_defaults_come_from_the_settings():
    lines = GuardLines.for_settings(Settings())
    assert (lines.bounce_rate, lines.complaint_rate, lines.min_sends) == (0.04, 0.0008, 500)
    assert lines.bounce_rate < guard.SES_REVIEW_BOUNCE_RATE and lines.complaint_rate < guard.SES_REVIEW_COMPLAINT_RATE
    assert lines.all_mail_bounce_rate < guard.SES_PAUSE_BOUNCE_RATE
    assert lines.all_mail_complaint_rate < guard.SES_PAUSE_COMPLAINT_RATE


def test_the_window_is_the_last_n_sends_for_a_busy_sender():
    lines = GuardLines(window_sends=1000)
    newest_first = sends(1000) + sends(1000, bounced=1000)  # old bounces beyond the last 1,000
    assert guard.trailing_rates(newest_first, NOW, lines) == TrailingRates(1000, 0, 0)


def test_the_window_is_the_last_days_for_a_quiet_sender():
    lines = GuardLines(window_sends=10_000, window_days=7)
    newest_first = sends(300, at=NOW - 6 * DAY) + sends(300, bounced=300, at=NOW - 8 * DAY)
    assert guard.trailing_rates(newest_first, NOW, lines) == TrailingRates(300, 0, 0)


def test_below_the_minimum_volume_the_guard_does_not_act():
    assert guard.verdict(TrailingRates(499, 100, 10), LINES) is None


def test_below_the_lines_nothing_is_paused():
    assert guard.verdict(TrailingRates(1000, 39, 0), LINES) is None


def test_a_bounce_rate_at_the_line_pauses_non_transactional_mail_with_an_actionable_reason():
    pause = guard.verdict(TrailingRates(2000, 86, 0), LINES)
    assert pause is not None and pause.scope is Scope.NON_TRANSACTIONAL
    assert pause.reason.startswith("bounce rate 4.3% over the last 2,000 sends; SES reviews at 5%")
    assert "transactional mail still goes out" in pause.reason and "postroom provider resume" in pause.reason


def test_a_complaint_rate_at_the_line_pauses_non_transactional_mail():
    pause = guard.verdict(TrailingRates(10_000, 0, 8), LINES)
    assert pause is not None and pause.scope is Scope.NON_TRANSACTIONAL
    assert pause.reason.startswith("complaint rate 0.08% over the last 10,000 sends; SES reviews at 0.1%")


def test_near_ses_pause_line_all_mail_stops():
    bounces = guard.verdict(TrailingRates(1000, 80, 0), LINES)
    complaints = guard.verdict(TrailingRates(1000, 0, 4), LINES)
    assert bounces.scope is Scope.ALL and "SES pauses at 10%" in bounces.reason
    assert complaints.scope is Scope.ALL and "SES pauses at 0.5%" in complaints.reason


def test_a_non_transactional_pause_lets_transactional_mail_through():
    bulk = Pause(Cause.GUARD, Scope.NON_TRANSACTIONAL, "bounces")
    assert holding([bulk], transactional=True) is None
    assert holding([bulk], transactional=False) is bulk
    everything = Pause(Cause.SES_ACCOUNT, Scope.ALL, "shut down")
    assert holding([bulk, everything], transactional=False) is everything
    assert holding([bulk, everything], transactional=True) is everything


def test_a_save_lifts_a_failures_pause_but_not_the_guards():
    assert not is_active(Cause.FAILURES, paused_seq=10, saved_seq=12)
    assert is_active(Cause.FAILURES, paused_seq=12, saved_seq=10)
    assert is_active(Cause.GUARD, paused_seq=10, saved_seq=12)
    assert Cause.GUARD.lifted_by_resume and Cause.FAILURES.lifted_by_resume
    assert not Cause.SES_ACCOUNT.lifted_by_resume and not Cause.SES_TENANT.lifted_by_resume


def test_a_tenant_pause_holds_only_while_the_provider_names_that_tenant():
    assert is_active(Cause.SES_TENANT, paused_seq=10, saved_seq=12, paused_tenant="acme", tenant="acme")
    assert not is_active(Cause.SES_TENANT, paused_seq=10, saved_seq=12, paused_tenant="acme", tenant="beta")
    assert not is_active(Cause.SES_TENANT, paused_seq=10, saved_seq=12, paused_tenant="acme", tenant="")


def test_ses_tenant_state_pauses_only_when_disabled():
    assert ses_tenant_pause("acme", "ENABLED") is None
    assert ses_tenant_pause("acme", "REINSTATED") is None
    reason = ses_tenant_pause("acme", "DISABLED")
    assert "'acme'" in reason and "SendingStatus DISABLED" in reason and "REINSTATED" in reason


def test_ses_account_state_pauses_when_shut_down_or_disabled():
    assert ses_account_pause("HEALTHY", True) is None
    assert ses_account_pause("PROBATION", True) is None
    assert "SHUTDOWN" in ses_account_pause("SHUTDOWN", True)
    assert "SendingEnabled false" in ses_account_pause("HEALTHY", False)
