"""The stream leader of a 3-node cluster is killed with -9 mid-run: no email reaches SES twice.

Three dispatch replicas send 2,000 emails. A quarter of the way in, the nats-server leading the
R3 stream is killed; the stream elects a new leader (several seconds without appends), and the
server comes back later. Outcomes of emails SES already took are appended until durable, so every
email has exactly one outcome event and reaches the SMTP server exactly once.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.cluster.cluster_support import (
    outcomes_recorded,
    queue,
    received_once_each,
    start_dispatchers,
    stream_leader,
    until,
)
from tests.integration.dispatch.dispatch_support import assert_one_outcome_each, save_provider

pytestmark = pytest.mark.slow

EMAILS = 2000


async def test_killing_the_stream_leader_mid_run_sends_no_email_twice(
    nats_cluster, cluster_settings, cluster_store, processes, sink
):
    await save_provider(
        cluster_store,
        cluster_settings,
        sink,
        max_send_rate=100_000.0,
        max_connections=8,
        max_messages_per_connection=1000,
    )
    dispatchers = await start_dispatchers(processes, cluster_settings, 3)
    ids = await queue(dispatchers[0], EMAILS)
    await until(lambda: len(sink.received) >= EMAILS // 4, 60, "a quarter of the emails sent")

    leader = await stream_leader(cluster_store, nats_cluster)
    leader.kill()
    sent_at_kill = len(sink.received)
    await asyncio.sleep(6)
    leader.start()

    events = await outcomes_recorded(cluster_store, ids, timeout=120, processes=processes)
    assert sent_at_kill < EMAILS, "the leader must die while mail is in flight"
    assert_one_outcome_each(events, ids)
    await asyncio.sleep(3)  # a second send would show up now
    counts = received_once_each(sink)
    assert set(counts) == ids
    assert max(counts.values()) == 1, f"{sum(n > 1 for n in counts.values())} emails reached SES twice"
    retried = sum(process.metric("postroom_event_append_retries_total") for process in dispatchers)
    assert retried > 0, "the kill must have caught appends in flight"
