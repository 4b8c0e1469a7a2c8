"""What SES's SMTP interface answers to a message, in SES's own words. Pure.

The wording is SES's, so the dispatcher's troubleshooting hints see what they would see from AWS:
https://docs.aws.amazon.com/ses/latest/dg/troubleshoot-smtp.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import getaddresses

from services.ses_sim.account import SesAccount
from services.ses_sim.mailbox_simulator import is_simulator_address

AUTH_INVALID = "535 Authentication Credentials Invalid"
MESSAGE_TOO_LONG = "552 Message too long"
RATE_EXCEEDED = "454 Throttling failure: Maximum sending rate exceeded"
QUOTA_EXCEEDED = "454 Throttling failure: Daily message quota exceeded"


def accepted(ses_message_id: str) -> str:
    return f"250 Ok {ses_message_id}"


def not_verified(identities: Sequence[str], region: str) -> str:
    return ("554 Message rejected: Email address is not verified. The following identities failed the check "
            f"in region {region.upper()}: {', '.join(identities)}")


@dataclass(frozen=True)
class Submission:
    """One message as the SMTP session saw it: envelope sender and recipients, and the header From."""

    mail_from: str
    header_from: tuple[str, ...]
    recipients: tuple[str, ...]

    @classmethod
    def of(cls, mail_from: str, from_header_values: Sequence[str], recipients: Sequence[str]) -> "Submission":
        addresses = tuple(address for _, address in getaddresses(list(from_header_values)) if address)
        return cls(mail_from, addresses, tuple(recipients))


def verification_rejection(submission: Submission, account: SesAccount) -> str | None:
    """554 when a sender (MAIL FROM or header From) is not verified, or, in the sandbox, a recipient."""
    senders = dict.fromkeys(address for address in (submission.mail_from, *submission.header_from) if address)
    unverified_senders = [address for address in senders if not account.is_verified(address)]
    if unverified_senders:
        return not_verified(unverified_senders, account.region)
    if account.sandbox:
        unverified_recipients = [address for address in submission.recipients
                                 if not is_simulator_address(address) and not account.is_verified(address)]
        if unverified_recipients:
            return not_verified(unverified_recipients, account.region)
    return None
