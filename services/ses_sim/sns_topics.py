"""Topics and their HTTP(S) subscriptions, as SNS keeps them: pending until the SubscribeURL is visited."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

_TOPIC_ARN = re.compile(r"arn:aws:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}", re.ASCII)


class SubscriptionError(ValueError):
    """A request SNS would refuse (HTTP 400 / 404), with SNS's error code."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Subscription:
    arn: str
    topic_arn: str
    endpoint: str
    token: str
    confirmed: bool = False

    def as_json(self) -> dict:
        return {
            "subscription_arn": self.arn if self.confirmed else "PendingConfirmation",
            "topic_arn": self.topic_arn,
            "endpoint": self.endpoint,
            "confirmed": self.confirmed,
            "id": self.arn,
        }


def _endpoint_problem(endpoint: object) -> str | None:
    if not isinstance(endpoint, str) or not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", endpoint):
        return "endpoint must be an http:// or https:// URL"
    return None


class Topics:
    def __init__(self, topic_arns: tuple[str, ...]) -> None:
        self.topic_arns = topic_arns
        self._subscriptions: dict[str, Subscription] = {}

    def subscribe(self, topic_arn: str, endpoint: str) -> tuple[Subscription, bool]:
        """The subscription of `endpoint` to the topic, and whether a confirmation must be (re)sent.

        Subscribing again while pending resends the same token, as SNS does; a confirmed one stays as is."""
        if topic_arn not in self.topic_arns:
            raise SubscriptionError("NotFound", f"Topic does not exist: {topic_arn}", 404)
        if problem := _endpoint_problem(endpoint):
            raise SubscriptionError("InvalidParameter", f"Invalid parameter: Endpoint: {problem}")
        for existing in self._subscriptions.values():
            if existing.topic_arn == topic_arn and existing.endpoint == endpoint:
                return existing, not existing.confirmed
        subscription = Subscription(f"{topic_arn}:{uuid.uuid4()}", topic_arn, endpoint, secrets.token_hex(64))
        self._subscriptions[subscription.arn] = subscription
        return subscription, True

    def confirm(self, topic_arn: str, token: str) -> Subscription:
        for subscription in self._subscriptions.values():
            if subscription.topic_arn == topic_arn and secrets.compare_digest(subscription.token, token):
                subscription.confirmed = True
                return subscription
        raise SubscriptionError("InvalidParameter", "Invalid token")

    def unsubscribe(self, subscription_arn: str) -> Subscription:
        subscription = self._subscriptions.pop(subscription_arn, None)
        if subscription is None:
            raise SubscriptionError("NotFound", "Subscription does not exist", 404)
        return subscription

    def confirmed(self, topic_arn: str) -> list[Subscription]:
        return [s for s in self._subscriptions.values() if s.topic_arn == topic_arn and s.confirmed]

    def all(self) -> list[Subscription]:
        return list(self._subscriptions.values())


def is_topic_arn(text: object) -> bool:
    return isinstance(text, str) and _TOPIC_ARN.fullmatch(text) is not None
