"""The shared durable worker against a real nats-server: ack after the handler, Requeue, leases,
one run per message in a process, and no new work while the process owes the log."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.config import main as config_main
from services.core import point_of_no_return
from services.core.durable_worker import ConsumerPlan, Delivery, DurableWorker, Requeue
from services.core.event_routes import DeclarationError, handles
from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import uuid7
from services.core.runtime import start_service
from tests.support.events import provider_saved
from tests.support.streams import delete_test_streams


@pytest.fixture
async def store(settings):
    store = await EventStore.connect(settings)
    yield store
    await delete_test_streams(store)
    await store.close()


class SavedProviders:
    """A consumer of ProviderSaved whose handling is the test's own function."""

    def __init__(self, handle) -> None:
        self.handle = handle

    @handles(events_pb2.ProviderSaved)
    async def saved(self, delivery: Delivery, _payload) -> None:
        await self.handle(delivery)


class DeletedProviders:
    def __init__(self, handle) -> None:
        self.handle = handle

    @handles(events_pb2.ProviderDeleted)
    async def deleted(self, delivery: Delivery, _payload) -> None:
        await self.handle(delivery)


LEASE = 30.0  # for the stop tests: a message not put back would come back only after the test


def plan(**overrides) -> ConsumerPlan:
    values = dict(durable="test-worker", aggregate_type="provider", concurrency=4, ack_wait=5.0, retry_delay=0.2)
    values.update(overrides)
    return ConsumerPlan(**values)


async def run_worker(worker: DurableWorker) -> asyncio.Task:
    return asyncio.create_task(worker.run())


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def until(condition, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_a_requeued_message_comes_back_later_and_is_acked_once_handled(store):
    seen: list[Delivery] = []

    async def handler(delivery: Delivery) -> None:
        seen.append(delivery)
        if len(seen) == 1:
            raise Requeue(0.3)

    worker = DurableWorker(store, plan(), SavedProviders(handler))
    task = await run_worker(worker)
    try:
        await store.append(provider_saved("acme", str(uuid7())))
        await until(lambda: len(seen) == 2)
        assert seen[1].redelivered and seen[1].may_have_been_seen and not seen[0].redelivered
        await asyncio.sleep(1.0)
        assert len(seen) == 2, "acked after the handler returned: never delivered again"
        info = await store.js.consumer_info(store.stream, "test-worker")
        assert info.num_ack_pending == 0 and info.num_pending == 0
    finally:
        await stop(task)


async def test_events_it_does_not_handle_are_acked_without_a_handler(store):
    handled: list[str] = []

    async def handler(delivery: Delivery) -> None:
        handled.append(delivery.event.type)

    worker = DurableWorker(store, plan(), DeletedProviders(handler))
    task = await run_worker(worker)
    try:
        await store.append(provider_saved("acme", str(uuid7())))
        await asyncio.sleep(1.5)
        info = await store.js.consumer_info(store.stream, "test-worker")
        assert handled == [] and info.num_ack_pending == 0 and info.delivered.stream_seq == 1
    finally:
        await stop(task)


def test_a_consumer_declaring_what_is_no_event_is_refused_at_start(store):
    class Confused:
        @handles(events_pb2.EmailAddress)
        async def address(self, delivery, payload) -> None: ...

    with pytest.raises(DeclarationError, match="EmailAddress, which is no event"):
        DurableWorker(store, plan(), Confused())


async def test_a_lease_is_kept_while_the_handler_works_longer_than_ack_wait(store):
    runs = 0

    async def slow(delivery: Delivery) -> None:
        nonlocal runs
        runs += 1
        await asyncio.sleep(4.0)  # twice the lease: the in-progress acks keep it

    worker = DurableWorker(store, plan(ack_wait=2.0), SavedProviders(slow))
    task = await run_worker(worker)
    try:
        await store.append(provider_saved("acme", str(uuid7())))
        await until(lambda: runs == 1)
        await asyncio.sleep(5.0)
        assert runs == 1
    finally:
        await stop(task)


async def test_a_process_that_owes_the_log_an_overdue_append_takes_no_new_work(store):
    handled: list[str] = []

    async def handler(delivery: Delivery) -> None:
        handled.append(delivery.event.aggregate_id)

    store.owed.deadline = 0.0
    worker = DurableWorker(store, plan(), SavedProviders(handler))
    task = await run_worker(worker)
    try:
        with store.owed.owing():
            await store.append(provider_saved("acme", "first"))
            await asyncio.sleep(2.0)
            assert handled == []
        await until(lambda: handled == ["first"])
    finally:
        await stop(task)


async def test_a_service_reports_not_serving_while_an_owed_append_is_overdue(settings):
    settings = replace(settings, log_outage_deadline=0.5)
    service = await start_service("config", settings, config_main.build)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)

            async def status():
                return (await health.Check(health_pb2.HealthCheckRequest())).status

            await until_async(lambda: status_is(status, health_pb2.HealthCheckResponse.SERVING))
            await service.store.js.delete_stream(service.store.stream)  # the log goes away
            owed = asyncio.create_task(
                service.store.append_durably(provider_saved("acme", str(uuid7())), patience=None)
            )
            await until_async(lambda: status_is(status, health_pb2.HealthCheckResponse.NOT_SERVING))
            await service.store.ensure_stream()  # ... and comes back
            await asyncio.wait_for(owed, 10)
            await until_async(lambda: status_is(status, health_pb2.HealthCheckResponse.SERVING))
    finally:
        await service.stop()
        await delete_test_streams_of(settings)


async def status_is(status, wanted) -> bool:
    return await status() == wanted


async def until_async(check, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.1)


async def delete_test_streams_of(settings) -> None:
    store = await EventStore.connect(settings)
    await delete_test_streams(store)
    await store.close()


async def test_a_graceful_stop_lets_a_handler_past_its_point_of_no_return_finish(store):
    """Past the grace, the handler that passed its point (a send SES may hold) goes on and is acked;
    the one that did not is cancelled at once and put back."""
    finished: list[str] = []

    async def handler(delivery: Delivery) -> None:
        if delivery.event.aggregate_id == "past":
            point_of_no_return.passed()
            await asyncio.sleep(4.0)  # beyond the grace and the unbinding pull
        else:
            await asyncio.sleep(30.0)
        finished.append(delivery.event.aggregate_id)

    worker = DurableWorker(store, plan(ack_wait=LEASE, past_no_return_seconds=20.0), SavedProviders(handler))
    task = await run_worker(worker)
    try:
        await store.append(provider_saved("acme", "past"))
        await store.append(provider_saved("acme", "before"))
        await until(lambda: worker.in_flight == 2)
        started = asyncio.get_running_loop().time()
        await worker.finish_in_flight(grace=0.2)
        assert finished == ["past"] and asyncio.get_running_loop().time() - started < 10.0
    finally:
        await stop(task)
    assert await taken_again_by_another_worker(store) == ["before"], "the one past its point acked, the other put back"


async def test_a_handler_found_back_before_its_point_is_put_back_without_waiting_out_the_bound(store):
    """A send whose message SES refused after DATA (a 454 to the final period) clears its point and
    waits to try again: the stop puts it back then, rather than waiting for the retry."""

    async def refused_then_waits(delivery: Delivery, worker: DurableWorker) -> None:
        point_of_no_return.passed()
        await worker._unbound.wait()  # the stop has sorted its handlers: this one was spared
        await asyncio.sleep(0.3)
        point_of_no_return.not_passed()
        await asyncio.sleep(60.0)  # a backoff before the next attempt

    assert await seconds_to_stop_with_one_in_flight(store, refused_then_waits, bound=30.0) < 10.0
    assert await taken_again_by_another_worker(store) == ["stuck"]


async def test_a_handler_past_its_point_of_no_return_is_cut_off_after_its_bound(store):
    async def forever(delivery: Delivery, worker: DurableWorker) -> None:
        point_of_no_return.passed()
        await asyncio.sleep(60.0)

    # The grace, the unbinding pull (about a second), then the bound.
    assert 3.2 <= await seconds_to_stop_with_one_in_flight(store, forever, bound=3.0) < 12.0
    assert await taken_again_by_another_worker(store) == ["stuck"]


async def seconds_to_stop_with_one_in_flight(store, handle, bound: float) -> float:
    """How long a graceful stop (0.2 s of grace, `bound` past its point) takes with one message,
    "stuck", in the hands of `handle(delivery, worker)`; it leaves none in flight."""
    worker = DurableWorker(
        store,
        plan(ack_wait=LEASE, past_no_return_seconds=bound),
        SavedProviders(lambda delivery: handle(delivery, worker)),
    )
    task = await run_worker(worker)
    try:
        await store.append(provider_saved("acme", "stuck"))
        await until(lambda: worker.in_flight == 1)
        started = asyncio.get_running_loop().time()
        async with asyncio.timeout(bound + 15.0):
            await worker.finish_in_flight(grace=0.2)
        assert worker.in_flight == 0
        return asyncio.get_running_loop().time() - started
    finally:
        await stop(task)


async def taken_again_by_another_worker(store) -> list[str]:
    """What a fresh worker on the same durable consumer is given within a few seconds."""
    taken: list[str] = []

    async def record(delivery: Delivery) -> None:
        taken.append(delivery.event.aggregate_id)

    task = await run_worker(DurableWorker(store, plan(ack_wait=LEASE), SavedProviders(record)))
    try:
        await until(lambda: taken, timeout=LEASE / 2)  # put back, not come back after its lease
        await asyncio.sleep(1.0)
        return taken
    finally:
        await stop(task)
