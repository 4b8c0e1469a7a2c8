"""The deliverability guard (pure): a provider's trailing bounce and complaint rates, and the lines
at which Postroom pauses its mail before SES acts on the account.

SES reviews an account at a 5% bounce rate or a 0.1% complaint rate and may pause its sending at
10% / 0.5%; it computes them over a "representative volume": the recent sends, going further back
in time only for a sender of little mail. So the window here is the last `window_sends` sends, and
none older than `window_days`, whichever is fewer. Only hard (Permanent) bounces count, as in SES's
own bounce rate. Below `min_sends` in the window the rates say too little to act on.

Crossing a guard line pauses the provider's non-transactional mail; transactional mail (receipts,
password resets) keeps flowing until the rates come near SES's pause line, where all mail stops.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from services.core.settings import Settings

SES_REVIEW_BOUNCE_RATE = 0.05
SES_REVIEW_COMPLAINT_RATE = 0.001
SES_PAUSE_BOUNCE_RATE = 0.10
SES_PAUSE_COMPLAINT_RATE = 0.005
SECONDS_PER_DAY = 86_400.0


class Scope(str, enum.Enum):
    """Which of a provider's mail a pause holds."""

    NON_TRANSACTIONAL = "non_transactional"
    ALL = "all"

    def holds(self, transactional: bool) -> bool:
        return self is Scope.ALL or not transactional


@dataclass(frozen=True)
class GuardLines:
    # The defaults are the settings' (services/core/settings.py), written there once.
    bounce_rate: float = Settings.guard_bounce_rate
    complaint_rate: float = Settings.guard_complaint_rate
    all_mail_bounce_rate: float = Settings.guard_all_mail_bounce_rate
    all_mail_complaint_rate: float = Settings.guard_all_mail_complaint_rate
    min_sends: int = Settings.guard_min_sends
    window_sends: int = Settings.guard_window_sends
    window_days: float = Settings.guard_window_days

    @classmethod
    def for_settings(cls, settings) -> "GuardLines":
        return cls(
            settings.guard_bounce_rate,
            settings.guard_complaint_rate,
            settings.guard_all_mail_bounce_rate,
            settings.guard_all_mail_complaint_rate,
            settings.guard_min_sends,
            settings.guard_window_sends,
            settings.guard_window_days,
        )


@dataclass(frozen=True)
class SendRecord:
    """One sent email as the guard counts it: when, and what SES's feedback said of it since."""

    sent_at: float  # epoch seconds
    bounced: bool = False  # a Permanent bounce
    complained: bool = False


@dataclass(frozen=True)
class TrailingRates:
    sends: int
    bounces: int
    complaints: int

    @property
    def bounce_rate(self) -> float:
        return self.bounces / self.sends if self.sends else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.sends if self.sends else 0.0


@dataclass(frozen=True)
class GuardPause:
    scope: Scope
    reason: str
    rates: TrailingRates


def trailing_rates(newest_first: Iterable[SendRecord], now: float, lines: GuardLines) -> TrailingRates:
    """The rates over the window: the newest `window_sends` sends, none older than `window_days`."""
    oldest = now - lines.window_days * SECONDS_PER_DAY
    sends = bounces = complaints = 0
    for record in newest_first:
        if sends >= lines.window_sends or record.sent_at < oldest:
            break
        sends += 1
        bounces += record.bounced
        complaints += record.complained
    return TrailingRates(sends, bounces, complaints)


def verdict(rates: TrailingRates, lines: GuardLines) -> GuardPause | None:
    """The pause the rates call for, the wider one first; None below the lines or the minimum volume."""
    if rates.sends < lines.min_sends:
        return None
    if rates.bounce_rate >= lines.all_mail_bounce_rate:
        return GuardPause(
            Scope.ALL,
            _reason(
                "bounce",
                rates.bounce_rate,
                rates,
                SES_PAUSE_BOUNCE_RATE,
                "pauses",
                "all mail, transactional too, is held",
            ),
            rates,
        )
    if rates.complaint_rate >= lines.all_mail_complaint_rate:
        return GuardPause(
            Scope.ALL,
            _reason(
                "complaint",
                rates.complaint_rate,
                rates,
                SES_PAUSE_COMPLAINT_RATE,
                "pauses",
                "all mail, transactional too, is held",
            ),
            rates,
        )
    if rates.bounce_rate >= lines.bounce_rate:
        return GuardPause(
            Scope.NON_TRANSACTIONAL,
            _reason("bounce", rates.bounce_rate, rates, SES_REVIEW_BOUNCE_RATE, "reviews", _BULK_HELD),
            rates,
        )
    if rates.complaint_rate >= lines.complaint_rate:
        return GuardPause(
            Scope.NON_TRANSACTIONAL,
            _reason("complaint", rates.complaint_rate, rates, SES_REVIEW_COMPLAINT_RATE, "reviews", _BULK_HELD),
            rates,
        )
    return None


_BULK_HELD = "non-transactional mail is held; transactional mail still goes out"
_FIX = {
    "bounce": "Remove addresses that bounce (old or bought lists) before sending again",
    "complaint": "Send only to people who asked for this mail and make unsubscribing easy before sending again",
}


def _reason(kind: str, rate: float, rates: TrailingRates, ses_line: float, ses_acts: str, held: str) -> str:
    return (
        f"{kind} rate {_percent(rate)} over the last {rates.sends:,} sends; SES {ses_acts} at "
        f"{_percent(ses_line)}: {held}. {_FIX[kind]}, then resume the provider "
        "(postroom provider resume)."
    )


def _percent(rate: float) -> str:
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"
