"""A 454 storm: for 10 s the SMTP server answers 454 Throttling to 30% of sends, as SES does when
AWS lowered the account's rate. The shared rate falls (additive increase, multiplicative
decrease), recovers once the storm is over, and nothing is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.e2e.cluster.cluster_support import outcomes_recorded, queue, received_once_each, start_dispatchers, until
from tests.integration.dispatch.dispatch_support import ACCOUNT, PROVIDER, save_provider

pytestmark = pytest.mark.slow

RATE = 50.0
EMAILS = 600
STORM_SECONDS = 10.0
RATE_METRIC = "postroom_dispatch_send_rate"


async def test_a_throttling_storm_lowers_the_shared_rate_which_then_recovers(
    cluster_settings, cluster_store, processes, sink
):
    await save_provider(
        cluster_store, cluster_settings, sink, max_send_rate=RATE, max_connections=4, max_messages_per_connection=1000
    )
    dispatchers = await start_dispatchers(processes, cluster_settings, 2, POSTROOM_DISPATCH_CONCURRENCY="50")
    ids = await queue(dispatchers[0], EMAILS)
    await until(lambda: len(sink.received) >= 100, 60, "sending under way")

    sink.handler.throttle(0.3, STORM_SECONDS)
    storm_ends = time.monotonic() + STORM_SECONDS
    during, after = [], []
    labels = f'provider="{ACCOUNT}.{PROVIDER}"'
    while len(received_once_each(sink)) < EMAILS:
        rate = min(process.metric(RATE_METRIC, labels) for process in dispatchers)
        (during if time.monotonic() < storm_ends else after).append(rate)
        await asyncio.sleep(0.5)

    events = await outcomes_recorded(cluster_store, ids, timeout=60, processes=processes)
    assert sink.handler.throttled > 0
    assert min(during) < 0.6 * RATE, f"the rate did not fall: {during}"
    assert max(after) >= 0.95 * RATE, f"the rate did not recover: {after}"
    assert {e.type for e in events if e.type != "EmailQueued"} == {"EmailDispatched"}, "nothing is lost"
    counts = received_once_each(sink)
    assert set(counts) == ids and max(counts.values()) == 1
