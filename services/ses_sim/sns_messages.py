"""Amazon SNS HTTP(S) messages: their JSON shapes and SignatureVersion 2 signing. Pure (crypto, no I/O).

https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from services.ses_sim.ses_notifications import aws_timestamp

_NOTIFICATION_SIGNED = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_SIGNED = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def region_of(topic_arn: str) -> str:
    return topic_arn.split(":")[3]


def sns_url(region: str, query: str = "") -> str:
    return f"https://sns.{region}.amazonaws.com/{query}"


def subscribe_url(topic_arn: str, token: str) -> str:
    return sns_url(region_of(topic_arn), f"?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}")


def unsubscribe_url(subscription_arn: str) -> str:
    return sns_url(region_of(subscription_arn), f"?Action=Unsubscribe&SubscriptionArn={subscription_arn}")


def string_to_sign(message: dict[str, Any]) -> bytes:
    """Each signed field present as `Name\\nValue\\n`, in SNS's order (Subject only when there is one)."""
    names = _NOTIFICATION_SIGNED if message["Type"] == "Notification" else _CONFIRMATION_SIGNED
    return "".join(f"{name}\n{message[name]}\n" for name in names if message.get(name) is not None).encode()


@dataclass(frozen=True)
class SnsSigner:
    key: rsa.RSAPrivateKey
    signing_cert_url: Callable[[str], str]  # region -> where SNS of that region serves the certificate

    def sign(self, message: dict[str, Any]) -> dict[str, Any]:
        signature = self.key.sign(string_to_sign(message), padding.PKCS1v15(), hashes.SHA256())
        return {
            **message,
            "SignatureVersion": "2",
            "Signature": base64.b64encode(signature).decode("ascii"),
            "SigningCertURL": self.signing_cert_url(region_of(message["TopicArn"])),
        }


def notification(topic_arn: str, subscription_arn: str, message: str, now: datetime) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": aws_timestamp(now),
        "UnsubscribeURL": unsubscribe_url(subscription_arn),
    }


def subscription_confirmation(topic_arn: str, token: str, now: datetime) -> dict[str, Any]:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to subscribe to the topic {topic_arn}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url(topic_arn, token),
        "Timestamp": aws_timestamp(now),
    }


def unsubscribe_confirmation(topic_arn: str, token: str, now: datetime) -> dict[str, Any]:
    return {
        "Type": "UnsubscribeConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to deactivate subscription to the topic {topic_arn}.\n"
        "To cancel this operation and restore the subscription, visit the SubscribeURL included "
        "in this message.",
        "SubscribeURL": subscribe_url(topic_arn, token),
        "Timestamp": aws_timestamp(now),
    }


def http_body(message: dict[str, Any]) -> bytes:
    return json.dumps(message, indent=2).encode("utf-8")


def http_headers(message: dict[str, Any], subscription_arn: str) -> dict[str, str]:
    """The headers SNS sends with a message over HTTP(S)."""
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": "Amazon Simple Notification Service Agent",
        "x-amz-sns-message-type": message["Type"],
        "x-amz-sns-message-id": message["MessageId"],
        "x-amz-sns-topic-arn": message["TopicArn"],
    }
    if message["Type"] != "SubscriptionConfirmation":
        headers["x-amz-sns-subscription-arn"] = subscription_arn
    return headers
