"""What SES's SMTP interface answers to a message, in SES's own words. Pure.

The wording is SES's, so the dispatcher's troubleshooting hints see what they would see from AWS:
https://docs.aws.amazon.com/ses/latest/dg/troubleshoot-smtp.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import getaddresses
from typing import TYPE_CHECKING

from services.ses_sim.account import SesAccount
from services.ses_sim.mailbox_simulator import is_simulator_address
from services.ses_sim.ses_headers import SesHeaders

if TYPE_CHECKING:
    from services.ses_sim.regions import SesRegion

AUTH_INVALID = "535 Authentication Credentials Invalid"
MESSAGE_TOO_LONG = "552 Message too long"
RATE_EXCEEDED = "454 Throttling failure: Maximum sending rate exceeded"
QUOTA_EXCEEDED = "454 Throttling failure: Daily message quota exceeded"
# What SES answers (at the end of DATA) while it has paused the account's sending, as users quote it.
SENDING_PAUSED = (
    "554 Message rejected: Sending paused for this account. For more information, please check the "
    "inbox of the email address associated with your AWS account."
)
# Past its per-session message limit SES answers the next MAIL FROM with this and closes the connection.
SESSION_LIMIT_REACHED = "421 Connection closed by server. Maximum message count per session reached."


def accepted(ses_message_id: str) -> str:
    return f"250 Ok {ses_message_id}"


def not_verified(identities: Sequence[str], region: str) -> str:
    return (
        "554 Message rejected: Email address is not verified. The following identities failed the check "
        f"in region {region.upper()}: {', '.join(identities)}"
    )


def configuration_set_missing(name: str) -> str:
    # SES's reply, as users quote it, with the name in angle brackets.
    return f"554 Configuration Set does not exist: Configuration set <{name}> does not exist."


# SES's SMTP wording for tenant refusals is not published; these follow its other 554 replies.
def tenant_missing(name: str) -> str:
    return f"554 Message rejected: Tenant <{name}> does not exist."


def tenant_paused(name: str) -> str:
    return f"554 Message rejected: Sending paused for tenant <{name}>."


def tenant_resource_not_associated(name: str, resource_arn: str) -> str:
    return f"554 Message rejected: Resource <{resource_arn}> is not associated with tenant <{name}>."


NO_SES_HEADERS = SesHeaders()  # a message that carries no X-SES-* header


@dataclass(frozen=True)
class Submission:
    """One message as the SMTP session saw it: envelope sender and recipients, the header From, and the
    SES headers it carries."""

    mail_from: str
    header_from: tuple[str, ...]
    recipients: tuple[str, ...]
    ses_headers: SesHeaders = NO_SES_HEADERS

    @classmethod
    def of(
        cls,
        mail_from: str,
        from_header_values: Sequence[str],
        recipients: Sequence[str],
        ses_headers: SesHeaders = NO_SES_HEADERS,
    ) -> "Submission":
        addresses = tuple(address for _, address in getaddresses(list(from_header_values)) if address)
        return cls(mail_from, addresses, tuple(recipients), ses_headers)

    @property
    def senders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(address for address in (self.mail_from, *self.header_from) if address))


def verification_rejection(submission: Submission, account: SesAccount) -> str | None:
    """554 when a sender (MAIL FROM or header From) is not verified, or, in the sandbox, a recipient."""
    unverified_senders = [address for address in submission.senders if not account.is_verified(address)]
    if unverified_senders:
        return not_verified(unverified_senders, account.region)
    if account.sandbox:
        unverified_recipients = [
            address
            for address in submission.recipients
            if not is_simulator_address(address) and not account.is_verified(address)
        ]
        if unverified_recipients:
            return not_verified(unverified_recipients, account.region)
    return None


def tenant_rejection(submission: Submission, region: "SesRegion") -> str | None:
    """A tenant must exist, be allowed to send, and hold every identity and configuration set used."""
    name = submission.ses_headers.tenant
    if name is None:
        return None
    tenant = region.tenants.find(name)
    if tenant is None:
        return tenant_missing(name)
    if not tenant.may_send:
        return tenant_paused(name)
    used = [
        region.account.identity_arn(identity)
        for address in submission.senders
        if (identity := region.account.verifying_identity(address)) is not None
    ]
    if (set_name := submission.ses_headers.configuration_set) is not None:
        used.append(region.configuration_sets.arn(region.configuration_sets.get(set_name)))
    missing = next((arn for arn in dict.fromkeys(used) if arn not in tenant.resources), None)
    return tenant_resource_not_associated(name, missing) if missing else None


def message_rejection(submission: Submission, region: "SesRegion") -> str | None:
    """Why SES refuses this message in this region (before its limits are counted), or None."""
    if region.account.sending_paused:
        return SENDING_PAUSED
    if refusal := verification_rejection(submission, region.account):
        return refusal
    set_name = submission.ses_headers.configuration_set
    if set_name is not None and region.configuration_sets.find(set_name) is None:
        return configuration_set_missing(set_name)
    return tenant_rejection(submission, region)
