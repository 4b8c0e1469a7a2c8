"""Failover's rules (pure): which fallback takes a paused provider's mail."""

from __future__ import annotations

from services.dispatch.failover import Candidate, choose_sender, identity_covers
from services.dispatch.guard import Scope
from services.dispatch.pauses import Cause, Pause

PAUSED = (Pause(Cause.FAILURES, Scope.ALL, "login fails"),)
BULK_HELD = (Pause(Cause.GUARD, Scope.NON_TRANSACTIONAL, "bounces"),)


def test_an_identity_covers_the_same_address_or_domain():
    assert identity_covers("news@example.com", "News@Example.com")
    assert identity_covers("other@example.com", "news@example.com")
    assert not identity_covers("news@example.org", "news@example.com")


def test_the_first_healthy_fallback_with_the_identity_is_chosen():
    candidates = [
        Candidate("gone", "", exists=False),
        Candidate("down", "news@example.com", PAUSED),
        Candidate("elsewhere", "news@other.test"),
        Candidate("eu", "news@example.com"),
        Candidate("ap", "news@example.com"),
    ]
    assert choose_sender("news@example.com", candidates, transactional=False).provider_id == "eu"


def test_a_fallback_holding_only_bulk_mail_still_takes_transactional_mail():
    candidates = [Candidate("eu", "news@example.com", BULK_HELD)]
    assert choose_sender("news@example.com", candidates, transactional=False) is None
    assert choose_sender("news@example.com", candidates, transactional=True).provider_id == "eu"


def test_without_a_usable_fallback_the_mail_waits():
    assert choose_sender("news@example.com", [], transactional=False) is None
    assert choose_sender("news@example.com", [Candidate("down", "news@example.com", PAUSED)], False) is None
