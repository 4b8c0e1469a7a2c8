"""Delivers signed SNS messages to HTTP(S) subscriptions, retrying like SNS when an endpoint fails.

SNS's HTTP delivery policy retries a delivery that got no answer or a non-2xx one; it gives up after
its attempts and the message is lost for that subscription (here: logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import aiohttp

from services.ses_sim import sns_messages
from services.ses_sim.sns_messages import SnsSigner
from services.ses_sim.sns_topics import Subscription, Topics

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT_SECONDS = 15.0  # SNS waits 15 s for an HTTP endpoint


# About a minute of retries, as SNS's default HTTP/S delivery policy gives (3 retries 20 s apart).
SNS_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 20.0)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SnsPublisher:
    def __init__(
        self,
        topics: Topics,
        signer: SnsSigner,
        session: aiohttp.ClientSession,
        *,
        retry_delays: tuple[float, ...] = SNS_RETRY_DELAYS,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.topics = topics
        self._signer = signer
        self._session = session
        self._retry_delays = retry_delays
        self._clock = clock
        self._tasks: set[asyncio.Task] = set()
        self.delivered = 0
        self.failed = 0

    def in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def subscribe(self, topic_arn: str, endpoint: str) -> Subscription:
        """Subscribe `endpoint` (pending) and send it the SubscriptionConfirmation, as SNS's Subscribe does."""
        subscription, needs_confirmation = self.topics.subscribe(topic_arn, endpoint)
        if needs_confirmation:
            self.in_background(self.send_subscription_confirmation(subscription))
        return subscription

    def unsubscribe(self, subscription_arn: str) -> Subscription:
        subscription = self.topics.unsubscribe(subscription_arn)
        self.in_background(self.send_unsubscribe_confirmation(subscription))
        return subscription

    async def publish(self, topic_arn: str, message: str) -> None:
        """One Notification to every confirmed subscription of the topic (each gets its own MessageId)."""
        deliveries = [
            self._deliver(subscription, sns_messages.notification(topic_arn, subscription.arn, message, self._clock()))
            for subscription in self.topics.confirmed(topic_arn)
        ]
        await asyncio.gather(*deliveries)

    async def send_subscription_confirmation(self, subscription: Subscription) -> None:
        await self._deliver(
            subscription,
            sns_messages.subscription_confirmation(subscription.topic_arn, subscription.token, self._clock()),
        )

    async def send_unsubscribe_confirmation(self, subscription: Subscription) -> None:
        await self._deliver(
            subscription,
            sns_messages.unsubscribe_confirmation(subscription.topic_arn, subscription.token, self._clock()),
        )

    async def _deliver(self, subscription: Subscription, message: dict[str, Any]) -> bool:
        signed = self._signer.sign(message)
        body, headers = sns_messages.http_body(signed), sns_messages.http_headers(signed, subscription.arn)
        for attempt, delay in enumerate((0.0, *self._retry_delays), start=1):
            await asyncio.sleep(delay)
            problem = await self._post(subscription.endpoint, body, headers)
            if problem is None:
                self.delivered += 1
                return True
            log.warning(
                "SNS delivery failed",
                extra={
                    "endpoint": subscription.endpoint,
                    "attempt": attempt,
                    "type": signed["Type"],
                    "problem": problem,
                },
            )
        self.failed += 1
        log.error(
            "SNS delivery given up",
            extra={"endpoint": subscription.endpoint, "type": signed["Type"], "sns_message_id": signed["MessageId"]},
        )
        return False

    async def _post(self, endpoint: str, body: bytes, headers: dict[str, str]) -> str | None:
        try:
            async with self._session.post(
                endpoint,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_SECONDS),
            ) as answer:
                await answer.read()
                return None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            return type(error).__name__

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
