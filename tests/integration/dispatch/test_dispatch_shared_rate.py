"""The shared rate between replicas, through a real JetStream KV bucket: each replica a connection of its own."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.core.event_store import EventStore
from services.dispatch import rate_limit
from services.dispatch.rate_limit import ProviderLimits
from services.dispatch.shared_rate import ProviderPacer, QuotaExhausted, SharedRates
from tests.support.streams import delete_test_streams

KEY = "acme.ses-main"


@pytest.fixture
async def replicas(settings):
    stores = [await EventStore.connect(settings, name=f"replica-{i}") for i in range(3)]
    yield [SharedRates(store) for store in stores]
    await delete_test_streams(stores[0])
    for store in stores:
        await store.close()


async def send_for(pacer: ProviderPacer, limits: ProviderLimits, seconds: float, sent: list[float]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await pacer.acquire(1, limits)
        sent.append(time.monotonic())


async def test_three_replicas_keep_to_one_rate_together(replicas):
    limits = ProviderLimits(max_send_rate=40.0)
    sent: list[float] = []
    await asyncio.gather(*(send_for(ProviderPacer(rates, KEY), limits, 4.0, sent) for rates in replicas))
    # 4 s at 40/s plus one second saved up, plus a block in the hand of each replica at most
    assert 4 * 40 * 0.9 <= len(sent) <= 4 * 40 + 40 + 3 * rate_limit.block_size(40.0, 1)


async def test_a_replica_that_stops_leaves_its_share_to_the_others(replicas):
    limits = ProviderLimits(max_send_rate=40.0)
    sent: list[float] = []
    stopping = asyncio.create_task(send_for(ProviderPacer(replicas[0], KEY), limits, 1.0, []))
    staying = asyncio.create_task(send_for(ProviderPacer(replicas[1], KEY), limits, 4.0, sent))
    await stopping
    await staying
    after = [t for t in sent if t > sent[0] + 2.0]  # once the first replica is long gone
    assert len(after) >= (sent[-1] - sent[0] - 2.0) * 40 * 0.85


async def test_a_throttling_answer_anywhere_lowers_the_rate_everywhere(replicas):
    await replicas[0].throttled(KEY)
    await replicas[1].throttled(KEY)  # the same moment: one cut, not two
    state = await replicas[2].state_of(KEY)
    assert rate_limit.rate_factor(state, time.time()) == pytest.approx(0.5, abs=0.02)


async def test_the_daily_quota_is_counted_across_replicas(replicas):
    limits = ProviderLimits(max_send_rate=1000.0, daily_quota=30)
    for rates in replicas[:2]:
        pacer = ProviderPacer(rates, KEY)
        for _ in range(15):
            await pacer.acquire(1, limits)
    with pytest.raises(QuotaExhausted) as held:
        await ProviderPacer(replicas[2], KEY).acquire(1, limits)
    assert held.value.reached.used == 30 and "Max24HourSend" in str(held.value)
