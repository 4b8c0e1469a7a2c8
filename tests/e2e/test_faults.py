"""Faults during a 2,000-email run with bounces flowing: kill -9 each service in turn, restart NATS.

Nothing may be lost or doubled: every email has exactly one outcome event, every bounce is
recorded exactly once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import nats

from services.core.events import Event
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.ids import recipient_hash
from tests.e2e.suite import AUTH, SIM_PASSWORD, SIM_TOPIC, SIM_USERNAME, Suite, eventually
from tests.support.event_log import every_event

EMAILS = 2000
BOUNCE_EVERY = 10
OUTCOMES = {"EmailDispatched", "DispatchFailed", "EmailSuppressed"}
IN_FLIGHT_AT_MOST = 200  # POSTROOM_DISPATCH_CONCURRENCY's default: what a killed dispatch can leave half-sent


async def read_all_events(suite: Suite) -> list[Event]:
    settings = suite.env_settings()
    client = await nats.connect(settings.nats_url)
    try:
        return await every_event(client.jetstream(), settings.stream_name, settings.subject_prefix)
    finally:
        await client.close()


async def count_outcomes(suite: Suite) -> int:
    return sum(1 for e in await read_all_events(suite) if e.type in OUTCOMES)


def recipients_of(count: int) -> list[str]:
    return [
        f"bounce+{i}@simulator.amazonses.com" if i % BOUNCE_EVERY == 0 else f"reader{i}@example.net"
        for i in range(count)
    ]


async def test_no_email_or_bounce_is_lost_or_doubled_through_kills_and_a_nats_restart(tmp_path):
    # One email in ten bounces so that bounces cross the faults too; the deliverability guard would
    # rightly pause such a campaign, so it is kept out of this test (test_dispatch_guard.py has its own).
    suite = Suite(
        tmp_path,
        overrides={
            "POSTROOM_SIM_MAX_SEND_RATE": "5000",
            "POSTROOM_SIM_DAILY_QUOTA": "10000000",
            "POSTROOM_SMTP_TIMEOUT": "3",
            "POSTROOM_GUARD_MIN_SENDS": "1000000",
        },
    ).start()
    try:
        provider = await save_provider_and_subscribe(suite)
        dispatch_ids = await queue_emails(suite, provider, recipients_of(EMAILS))
        sent_before_faults = await count_outcomes(suite)
        for name in ("dispatch", "feedback", "unsubscribe", "config"):
            await asyncio.sleep(0.7)
            await asyncio.to_thread(suite.restart, name)
        assert sent_before_faults < EMAILS, "the faults must land while mail is in flight"
        suite.nats.stop()
        await asyncio.sleep(0.5)
        suite.nats.start()

        bounces_expected = EMAILS // BOUNCE_EVERY

        async def settled():
            events = await read_all_events(suite)
            outcomes = Counter(e.aggregate_id for e in events if e.type in OUTCOMES)
            bounces = [e for e in events if e.type == "BounceReceived"]
            return (events, outcomes, bounces) if len(outcomes) >= EMAILS and len(bounces) >= bounces_expected else None

        events, outcomes, bounces = await eventually(settled, timeout=240, interval=2)
        await asyncio.sleep(3)  # anything doubled would arrive now
        events = await read_all_events(suite)
        outcomes = Counter(e.aggregate_id for e in events if e.type in OUTCOMES)
        assert set(outcomes) >= set(dispatch_ids)
        assert all(outcomes[d] == 1 for d in dispatch_ids), [d for d in dispatch_ids if outcomes[d] != 1][:5]
        bounce_events = [e.bounce_received for e in events if e.type == "BounceReceived"]
        bounced = Counter(b.recipient_hash for b in bounce_events)
        # Only a bounce that names no dispatch (SES left the headers out) can make a redelivered
        # email end SUPPRESSED rather than DISPATCHED: that is the only other outcome allowed.
        not_dispatched = [e for e in events if e.type in OUTCOMES and e.type != "EmailDispatched"]
        assert all(
            e.type == "EmailSuppressed"
            and e.email_suppressed.reason == "hard_bounce"
            and e.email_suppressed.recipient_hash in bounced
            for e in not_dispatched
        ), not_dispatched[:3]
        expected = {recipient_hash(r) for r in recipients_of(EMAILS) if r.startswith("bounce")}
        assert set(bounced) == expected
        # Each of SES's bounces is recorded once. An email in flight when dispatch was killed may
        # have been sent twice (the sink's duplicates are bounded by what was in flight), and then
        # SES bounces each send: two notifications, two SES message ids.
        assert set(Counter((b.recipient_hash, b.ses_message_id) for b in bounce_events).values()) == {1}
        assert sum(bounced.values()) - len(bounced) <= IN_FLIGHT_AT_MOST
    finally:
        suite.close()


async def save_provider_and_subscribe(suite: Suite) -> str:
    saved = suite.cli(
        "provider",
        "save",
        "--account",
        "load",
        "--name",
        "Local SES",
        "--host",
        suite.sim_host,
        "--port",
        "2587",
        "--username",
        SIM_USERNAME,
        "--from",
        "sender@example.com",
        "--max-send-rate",
        "2000",
        "--max-connections",
        "10",
        "--sns-topic-arn",
        SIM_TOPIC,
        extra_env={"POSTROOM_SMTP_PASSWORD": SIM_PASSWORD},
    )
    provider = json.loads(saved.stdout)["provider"]
    suite.cli("ses-sim", "--url", suite.sim_url, "subscribe", "--endpoint", provider["callback_url"])
    return provider["provider_id"]


async def queue_emails(suite: Suite, provider_id: str, recipients: list[str]) -> list[str]:
    ids: list[str] = []
    async with suite.channel("dispatch") as channel:
        dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel)
        for start in range(0, len(recipients), 1000):
            batch = dispatch_pb2.SendEmailBatchRequest(
                messages=[
                    dispatch_pb2.SendEmailRequest(
                        account_id="load",
                        provider_id=provider_id,
                        to=[events_pb2.EmailAddress(address=address)],
                        subject=f"Load {i}",
                        text_body="Hello",
                        idempotency_key=f"load-{i}",
                    )
                    for i, address in enumerate(recipients[start : start + 1000], start=start)
                ]
            )
            answer = await dispatch.SendEmailBatch(batch, metadata=AUTH)
            assert all(r.error_code == 0 for r in answer.results), [r for r in answer.results if r.error_code][:3]
            ids += [r.dispatch_id for r in answer.results]
    return ids
