"""Feedback and unsubscribe, two replicas each, through a kill of the stream leader.

SNS posts signed bounce notifications to either feedback replica and delivers again whatever is
not answered 200; mail clients post RFC 8058 one-clicks to either unsubscribe replica and retry
likewise. The stream's leader is killed with -9 in the middle. Every SNS delivery answered 200
is in the log exactly once, and so is every one-click answered 200.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest

from services.core.unsubscribe_token import unsubscribe_url
from tests.e2e.cluster.cluster_support import stream_leader, until
from tests.support.event_log import every_event
from tests.support.events import provider_saved
from tests.support.service_process import service_environment
from tests.support.ses_feedback_messages import bounce
from tests.support.sns_signing import (
    DEFAULT_TOPIC_ARN,
    SnsSigningAuthority,
    SnsSigningIdentity,
    http_body,
    http_headers,
    notification,
)
from tests.support.unsubscribe import tokens_of, with_unsubscribe_key

pytestmark = pytest.mark.slow

ACCOUNT = "acme"
DELIVERIES = 240  # of each kind
SENDERS = 6  # concurrent SNS / mail-client connections of each kind
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


async def deliver_until_200(session: aiohttp.ClientSession, urls, body, headers=None, data=None) -> int:
    """POST, trying the next replica on anything but 200, as SNS and mail clients do. Returns the tries."""
    for tries in itertools.count(1):
        url = next(urls)
        try:
            async with session.post(url, data=data if data is not None else body, headers=headers) as answer:
                if answer.status == 200:
                    return tries
                assert answer.status == 503, f"{url}: {answer.status} {await answer.text()}"
        except (TimeoutError, aiohttp.ClientError):
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


async def test_every_delivery_answered_200_is_recorded_once_through_a_leader_kill(
    nats_cluster, cluster_settings, cluster_store, processes, tmp_path
):
    settings = with_unsubscribe_key(cluster_settings)
    signer = SnsSigningIdentity.issued_by(SnsSigningAuthority.create())
    pinned = tmp_path / "sns-certs"
    pinned.mkdir()
    signer.pin_in(pinned)
    provider_id = str(uuid.uuid4())
    await cluster_store.append(provider_saved(ACCOUNT, provider_id, sns_topic_arns=[DEFAULT_TOPIC_ARN]))
    env = service_environment(settings, POSTROOM_SNS_CERT_DIR=str(pinned))
    started = [
        processes.start(service, env, name=f"{service}-{i}") for service in ("feedback", "unsubscribe") for i in (0, 1)
    ]
    for process in started:
        await process.wait_until_serving()
    feedback = [p for p in started if p.service == "feedback"]
    unsubscribe = [p for p in started if p.service == "unsubscribe"]

    sns_urls = itertools.cycle([f"{p.http_url}/sns/{ACCOUNT}/{provider_id}" for p in feedback])
    notifications = [signer.sign(notification(bounce([f"gone{i}@example.net"]))) for i in range(DELIVERIES)]
    tokens = tokens_of(settings)
    links = [tokens.issue(ACCOUNT, f"reader{i}@example.net", issued_at=datetime.now(UTC)) for i in range(DELIVERIES)]

    answered = Counter()

    async def post_notifications(session, share):
        tries = []
        for n in share:
            tries.append(await deliver_until_200(session, sns_urls, http_body(n), http_headers(n)))
            answered["all"] += 1
        return tries

    async def post_one_clicks(session, share):
        tries = []
        for token in share:
            urls = itertools.cycle([unsubscribe_url(p.http_url, token) for p in unsubscribe])
            tries.append(await deliver_until_200(session, urls, None, data=ONE_CLICK))
            answered["all"] += 1
        return tries

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        load = [asyncio.create_task(post_notifications(session, notifications[i::SENDERS])) for i in range(SENDERS)]
        load += [asyncio.create_task(post_one_clicks(session, links[i::SENDERS])) for i in range(SENDERS)]
        # The kill comes a quarter of the way in (not after a fixed time: a slow machine may not
        # have started, a fast one may have finished), so most requests meet the election.
        await until(lambda: answered["all"] >= DELIVERIES // 2, 60, "a quarter of the deliveries answered")
        leader = await stream_leader(cluster_store, nats_cluster)
        leader.kill()
        answered_at_kill = answered["all"]
        await asyncio.sleep(8)
        leader.start()
        tries = [t for task in load for t in await task]

    assert answered_at_kill < 2 * DELIVERIES, "the leader must die while deliveries are in flight"
    retried = sum(process.metric("postroom_event_append_retries_total") for process in started)
    assert retried > 0 or max(tries) > 1, "the kill must have caught requests in flight"
    events = await cluster_store.patiently(
        lambda: every_event(cluster_store.js, cluster_store.stream, cluster_store.prefix), patience=60
    )
    recorded = Counter(e.bounce_received.sns_message_id for e in events if e.type == "BounceReceived")
    assert {n["MessageId"] for n in notifications} == set(recorded)
    assert set(recorded.values()) == {1}, "an SNS delivery answered 200 was recorded twice"
    unsubscribed = Counter(e.unsubscribed.recipient for e in events if e.type == "Unsubscribed")
    assert set(unsubscribed) == {f"reader{i}@example.net" for i in range(DELIVERIES)}
    assert set(unsubscribed.values()) == {1}, "a one-click answered 200 was recorded twice"
