"""What each SES mailbox simulator address produces. Pure.

https://docs.aws.amazon.com/ses/latest/dg/send-an-email-from-console.html#send-email-simulator
A `+label` before the `@` (bounce+order-42@...) behaves like the bare address, as in SES.
"""

from __future__ import annotations

from dataclasses import dataclass

SIMULATOR_DOMAIN = "simulator.amazonses.com"

SUPPRESSION_LIST_DIAGNOSTIC = (
    "Amazon SES did not send the message to this address because it is on the suppression list for your "
    "account. For more information about removing addresses from the suppression list, see the Amazon SES "
    "Developer Guide at https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html"
)


@dataclass(frozen=True)
class SimulatedBounce:
    bounce_type: str
    bounce_subtype: str
    status: str
    diagnostic_code: str
    reporting_mta: str


@dataclass(frozen=True)
class SimulatedOutcome:
    """`delivered`: SES reports a Delivery; `bounce` / `complaint_feedback_type`: a Bounce / Complaint too."""

    delivered: bool
    bounce: SimulatedBounce | None = None
    complaint_feedback_type: str | None = None
    sends_auto_reply: bool = False

    @property
    def notification_types(self) -> tuple[str, ...]:
        """The SES `notificationType`s this address produces, in the order SES sends them."""
        kinds = []
        if self.delivered:
            kinds.append("Delivery")
        if self.bounce:
            kinds.append("Bounce")
        if self.complaint_feedback_type:
            kinds.append("Complaint")
        return tuple(kinds)


def _hard_bounce(address: str) -> SimulatedBounce:
    return SimulatedBounce(
        "Permanent",
        "General",
        "5.1.1",
        f"smtp; 550 5.1.1 user unknown <{address}>",
        "dns; a8-70.smtp-out.amazonses.com",
    )


def suppression_list_bounce(_: str) -> SimulatedBounce:
    return SimulatedBounce(
        "Permanent", "OnAccountSuppressionList", "5.1.1", SUPPRESSION_LIST_DIAGNOSTIC, "dns; amazonses.com"
    )


def mailbox_of(address: str) -> str | None:
    """`bounce` for `Bounce+x@Simulator.AmazonSES.com`; None for any address outside the simulator."""
    local, at, domain = address.strip().rpartition("@")
    if not at or domain.lower() != SIMULATOR_DOMAIN:
        return None
    return local.split("+", 1)[0].lower()


def simulated_outcome(address: str) -> SimulatedOutcome | None:
    """What SES reports for a message to `address`; None when it is not a simulator mailbox."""
    match mailbox_of(address):
        case "success":
            return SimulatedOutcome(delivered=True)
        case "ooto":
            return SimulatedOutcome(delivered=True, sends_auto_reply=True)
        case "complaint":
            return SimulatedOutcome(delivered=True, complaint_feedback_type="abuse")
        case "bounce":
            return SimulatedOutcome(delivered=False, bounce=_hard_bounce(address))
        case "suppressionlist":
            return SimulatedOutcome(delivered=False, bounce=suppression_list_bounce(address))
    return None


def is_simulator_address(address: str) -> bool:
    return simulated_outcome(address) is not None


def reported_outcome(address: str, *, suppressed: bool) -> SimulatedOutcome | None:
    """What SES reports for one recipient of an accepted message: the mailbox simulator's answer, else a
    suppression-list bounce for a suppressed address, else nothing (the message is simply sent)."""
    if (simulated := simulated_outcome(address)) is not None:
        return simulated  # the mailbox simulator never consults the suppression list
    if suppressed:
        return SimulatedOutcome(delivered=False, bounce=suppression_list_bounce(address))
    return None
