"""A rolling restart of the three NATS servers during a run, one at a time, as a Helm upgrade does.

Each server is stopped (SIGTERM), started again on its store, and the cluster is healthy again
before the next one goes. Every leader the stream and the buckets had moves at least once; every
email still has exactly one outcome event and reaches the SMTP server exactly once.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.cluster.cluster_support import outcomes_recorded, queue, received_once_each, start_dispatchers, until
from tests.integration.dispatch.dispatch_support import assert_one_outcome_each, save_provider

pytestmark = pytest.mark.slow

EMAILS = 2000
RATE = 100.0  # the run lasts about 20 s: long enough for three restarts


async def test_a_rolling_restart_of_every_nats_server_sends_no_email_twice(
    nats_cluster, cluster_settings, cluster_store, processes, sink
):
    await save_provider(
        cluster_store, cluster_settings, sink, max_send_rate=RATE, max_connections=8, max_messages_per_connection=1000
    )
    dispatchers = await start_dispatchers(processes, cluster_settings, 3)
    ids = await queue(dispatchers[0], EMAILS)
    await until(lambda: len(sink.received) >= 100, 60, "sending under way")

    sent_during_restarts = []
    for node in nats_cluster.nodes:
        node.stop()
        await asyncio.sleep(1)
        node.start()
        await asyncio.to_thread(nats_cluster.wait_until_healthy, 60)
        sent_during_restarts.append(len(sink.received))

    events = await outcomes_recorded(cluster_store, ids, timeout=120, processes=processes)
    assert sent_during_restarts[-1] < EMAILS, f"the restarts must land while mail flows: {sent_during_restarts}"
    assert_one_outcome_each(events, ids)
    await asyncio.sleep(3)  # a second send would show up now
    counts = received_once_each(sink)
    assert set(counts) == ids
    assert max(counts.values()) == 1, f"{sum(n > 1 for n in counts.values())} emails reached SES twice"
