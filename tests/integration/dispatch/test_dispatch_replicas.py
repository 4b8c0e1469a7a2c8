"""Who is sending an email right now: live replicas answer over core NATS, heartbeats say who is live."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from dataclasses import replace

import pytest

from services.core.event_store import EventStore
from services.core.nats_server import EmbeddedNatsServer, free_port
from services.dispatch.replicas import DispatchReplicas, Sender
from tests.support.streams import delete_test_streams


@pytest.fixture
async def stores(settings):
    stores = [await EventStore.connect(settings, name=f"replica-{i}") for i in range(3)]
    yield stores
    await delete_test_streams(stores[0])
    for store in stores:
        await store.close()


async def started(store: EventStore, sending: set[str]) -> DispatchReplicas:
    replicas = DispatchReplicas(store, sending.__contains__)
    await replicas.start()
    return replicas


async def test_a_redelivery_is_left_to_a_live_replica_still_sending_it(stores):
    asking = await started(stores[0], set())
    sending = await started(stores[1], {"dispatch-1"})
    idle = await started(stores[2], set())
    try:
        assert await asking.who_sends("dispatch-1") is Sender.ANOTHER_REPLICA
        assert await asking.who_sends("dispatch-2") is Sender.NOBODY
    finally:
        for replicas in (asking, sending, idle):
            await replicas.stop()


async def test_a_replica_that_stopped_cleanly_is_not_waited_for(stores):
    asking = await started(stores[0], set())
    leaving = await started(stores[1], {"dispatch-1"})
    await leaving.stop()
    asking._live = (0.0, frozenset())  # no cached view of the live replicas
    try:
        assert await asking.who_sends("dispatch-1") is Sender.NOBODY
    finally:
        await asking.stop()


async def test_a_live_replica_that_does_not_answer_leaves_the_question_open(stores):
    asking = await started(stores[0], set())
    try:
        # A heartbeat with no process behind it (killed with -9 a moment ago, or reconnecting).
        await asking._heartbeats.use(lambda kv: kv.put("replica-gone-quiet", json.dumps({"since": 0}).encode()))
        asking._live = (0.0, frozenset())
        assert await asking.who_sends("dispatch-1") is Sender.UNKNOWN
    finally:
        await asking.stop()


async def test_a_starting_replica_waits_out_a_log_that_does_not_answer_instead_of_exiting(settings, tmp_path):
    """A cluster busy electing leaders answers nothing for a while; a replica starting then used to
    give up after the bucket's patience and the process exited. It waits, and beats once the log
    answers: a frozen nats-server (SIGSTOP) stands in for the busy cluster. (Requests here time out
    after 1 s and the bucket's patience is 1 s, not 10 and 10, so the old start failed within 3 s.)"""
    server = EmbeddedNatsServer(free_port(), tmp_path / "nats")
    server.start()
    store = await EventStore.connect(replace(settings, nats_url=server.url), name="starting")
    store.js = store.nc.jetstream(timeout=1.0)
    try:
        os.kill(server.process.pid, signal.SIGSTOP)
        replicas = DispatchReplicas(store, set().__contains__, patience=1.0)
        starting = asyncio.create_task(replicas.start())
        await asyncio.sleep(4)
        assert not starting.done(), "still waiting, not failed"
        os.kill(server.process.pid, signal.SIGCONT)
        await asyncio.wait_for(starting, 30)
        assert replicas.replica_id in await replicas._live_replicas()
        await replicas.stop()
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        await store.close()
        server.stop()
