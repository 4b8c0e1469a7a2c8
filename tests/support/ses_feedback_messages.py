"""SES feedback documents (the SNS `Message`) for tests and benchmarks, shaped like SES's own."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from tests.support.sns_signing import sns_timestamp


def _mail(recipients: list[str], ses_message_id: str | None, dispatch_id: str | None) -> dict:
    headers = [{"name": "From", "value": "sender@example.com"}, {"name": "To", "value": ", ".join(recipients)}]
    if dispatch_id:
        headers.append({"name": "X-Postroom-Dispatch-Id", "value": dispatch_id})
    return {
        "timestamp": sns_timestamp(datetime.now(UTC)),
        "source": "sender@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
        "sendingAccountId": "123456789012",
        "messageId": ses_message_id or f"0100{uuid.uuid4().hex}-{uuid.uuid4()}-000000",
        "destination": recipients,
        "headersTruncated": False,
        "headers": headers,
    }


def bounce(
    recipients: list[str],
    *,
    bounce_type: str = "Permanent",
    subtype: str = "General",
    ses_message_id: str | None = None,
    dispatch_id: str | None = None,
    at: datetime | None = None,
) -> str:
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": bounce_type,
                "bounceSubType": subtype,
                "bouncedRecipients": [
                    {
                        "emailAddress": r,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                    for r in recipients
                ],
                "timestamp": sns_timestamp(at or datetime.now(UTC)),
                "feedbackId": f"0100{uuid.uuid4().hex}-000000",
                "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
            },
            "mail": _mail(recipients, ses_message_id, dispatch_id),
        }
    )


def complaint(recipients: list[str], *, ses_message_id: str | None = None, dispatch_id: str | None = None) -> str:
    return json.dumps(
        {
            "notificationType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": r} for r in recipients],
                "timestamp": sns_timestamp(datetime.now(UTC)),
                "feedbackId": f"0100{uuid.uuid4().hex}-000000",
                "complaintFeedbackType": "abuse",
            },
            "mail": _mail(recipients, ses_message_id, dispatch_id),
        }
    )


def delivery(
    recipients: list[str],
    *,
    ses_message_id: str | None = None,
    dispatch_id: str | None = None,
    event_publishing: bool = False,
) -> str:
    kind = {"eventType": "Delivery"} if event_publishing else {"notificationType": "Delivery"}
    return json.dumps(
        {
            **kind,
            "delivery": {
                "timestamp": sns_timestamp(datetime.now(UTC)),
                "processingTimeMillis": 546,
                "recipients": recipients,
                "smtpResponse": "250 ok:  Message 64111812 accepted",
                "reportingMTA": "a8-70.smtp-out.amazonses.com",
            },
            "mail": _mail(recipients, ses_message_id, dispatch_id),
        }
    )
