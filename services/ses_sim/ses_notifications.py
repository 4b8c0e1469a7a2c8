"""SES identity notifications (`notificationType` Delivery / Bounce / Complaint) as SES writes them. Pure.

Shapes: https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html (examples in
/work/shared/conformance/ses/identity-*.json).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from services.ses_sim.mailbox_simulator import SimulatedBounce, SimulatedOutcome
from services.ses_sim.ses_ids import ses_message_id

_FOLDING = re.compile(r"\r?\n[ \t]+")
_MAX_HEADERS = 1000
SIMULATOR_MTA_IP = "127.0.2.0"
DELIVERY_SMTP_RESPONSE = "250 2.6.0 Message received"


def aws_timestamp(moment: datetime) -> str:
    """`2016-01-27T14:59:38.237Z`: UTC with milliseconds, as SES and SNS write times."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class SentMail:
    """What SES's `mail` object describes: one accepted message."""

    ses_message_id: str
    accepted_at: datetime
    source: str
    source_arn: str
    source_ip: str
    sending_account_id: str
    caller_identity: str
    destination: tuple[str, ...]
    data: bytes

    def mail_object(self) -> dict[str, Any]:
        parsed = message_from_bytes(self.data, policy=policy.compat32)
        headers = [{"name": name, "value": _unfolded(value)} for name, value in parsed.items()]
        return {
            "timestamp": aws_timestamp(self.accepted_at),
            "messageId": self.ses_message_id,
            "source": self.source,
            "sourceArn": self.source_arn,
            "sourceIp": self.source_ip,
            "sendingAccountId": self.sending_account_id,
            "callerIdentity": self.caller_identity,
            "destination": list(self.destination),
            "headersTruncated": len(headers) > _MAX_HEADERS,
            "headers": headers[:_MAX_HEADERS],
            "commonHeaders": _common_headers(message_from_bytes(self.data, policy=policy.default)),
        }


def _unfolded(value: str) -> str:
    return _FOLDING.sub(" ", str(value)).strip()


def _common_headers(parsed: Message) -> dict[str, Any]:
    common: dict[str, Any] = {}
    for name, key in (("From", "from"), ("Reply-To", "replyTo"), ("To", "to"), ("Cc", "cc")):
        if values := parsed.get_all(name):
            common[key] = [_unfolded(str(value)) for value in values]
    for name, key in (
        ("Return-Path", "returnPath"),
        ("Date", "date"),
        ("Message-ID", "messageId"),
        ("Subject", "subject"),
    ):
        if (value := parsed.get(name)) is not None:
            common[key] = _unfolded(str(value)).strip("<>") if key == "messageId" else _unfolded(str(value))
    return common


def notifications_for(mail: SentMail, recipient: str, outcome: SimulatedOutcome, now: datetime) -> list[dict]:
    """The SES notifications one simulator recipient produces, in the order SES sends them."""
    builders = {"Delivery": _delivery, "Bounce": _bounce, "Complaint": _complaint}
    return [builders[kind](mail, recipient, outcome, now) for kind in outcome.notification_types]


def _delivery(mail: SentMail, recipient: str, _: SimulatedOutcome, now: datetime) -> dict:
    elapsed = max(0, int((now - mail.accepted_at) / timedelta(milliseconds=1)))
    return {
        "notificationType": "Delivery",
        "mail": mail.mail_object(),
        "delivery": {
            "timestamp": aws_timestamp(now),
            "processingTimeMillis": elapsed,
            "recipients": [recipient],
            "smtpResponse": DELIVERY_SMTP_RESPONSE,
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
            "remoteMtaIp": SIMULATOR_MTA_IP,
        },
    }


def _bounce(mail: SentMail, recipient: str, outcome: SimulatedOutcome, now: datetime) -> dict:
    bounce: SimulatedBounce = outcome.bounce  # type: ignore[assignment]
    return {
        "notificationType": "Bounce",
        "mail": mail.mail_object(),
        "bounce": {
            "bounceType": bounce.bounce_type,
            "bounceSubType": bounce.bounce_subtype,
            "bouncedRecipients": [
                {
                    "emailAddress": recipient,
                    "action": "failed",
                    "status": bounce.status,
                    "diagnosticCode": bounce.diagnostic_code,
                }
            ],
            "timestamp": aws_timestamp(now),
            "feedbackId": ses_message_id(now, uuid.uuid4()),
            "reportingMTA": bounce.reporting_mta,
            "remoteMtaIp": SIMULATOR_MTA_IP,
        },
    }


def _complaint(mail: SentMail, recipient: str, outcome: SimulatedOutcome, now: datetime) -> dict:
    return {
        "notificationType": "Complaint",
        "mail": mail.mail_object(),
        "complaint": {
            "userAgent": "Amazon SES Mailbox Simulator",
            "complainedRecipients": [{"emailAddress": recipient}],
            "complaintFeedbackType": outcome.complaint_feedback_type,
            "arrivalDate": aws_timestamp(now),
            "timestamp": aws_timestamp(now),
            "feedbackId": ses_message_id(now, uuid.uuid4()),
        },
    }
