"""Why held mail waits, as GetDispatch tells it: kept until the email's outcome, lapsing when another replica takes it."""

from services.dispatch.context import HELD_GRACE_SECONDS, LiveAttempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_held_reason_lasts_through_the_requeue_delay_and_its_grace():
    clock = Clock()
    live = LiveAttempts(clock=clock)
    live.hold("d1", "Sending paused: SES has paused sending for this account", delay=60)
    clock.now += 60 + HELD_GRACE_SECONDS - 0.1
    assert live.waiting_reason("d1") == "Sending paused: SES has paused sending for this account"
    clock.now += 0.2  # the redelivery went to another replica: nothing here says otherwise
    assert live.waiting_reason("d1") == ""


def test_a_new_hold_replaces_the_last_and_an_outcome_releases_it():
    live = LiveAttempts(clock=Clock())
    live.hold("d1", "first", delay=1)
    live.hold("d1", "second", delay=1)
    assert live.waiting_reason("d1") == "second"
    live.release("d1")
    assert live.waiting_reason("d1") == ""
    assert live.waiting_reason("never-held") == ""


def test_lapsed_reasons_are_dropped_as_more_mail_is_held():
    clock = Clock()
    live = LiveAttempts(clock=clock)
    for n in range(1000):
        live.hold(f"old{n}", "quota", delay=1)
    clock.now += 1 + HELD_GRACE_SECONDS + 1
    for n in range(1100):
        live.hold(f"new{n}", "quota", delay=1)
    assert len(live.held) <= 1100 and all(key.startswith("new") for key in live.held)
