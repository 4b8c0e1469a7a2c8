"""`postroom replay dispatch` while mail flows and bounces arrive, against a dispatch process.

The rebuilt read model is built beside the live one; the process keeps checking suppressions
against the old one until it switches. Whatever an email's dispatch read when it was sent, it
must never go to an address suppressed before it was queued (the worker waits until its read
model includes the EmailQueued), health must stay SERVING, and the model switched to must equal
one built from scratch, row for row.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import replace

import grpc
import pytest

from services.core.database import create_engine
from services.core.event_store import EventStore, PendingAppend
from services.core.events import Event, new_event
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.ids import recipient_hash
from services.core.read_model_generations import ReadModelGenerations
from services.dispatch.projection import dispatch_projections
from tests.integration.dispatch.dispatch_support import ACCOUNT, METADATA, PROVIDER, email, save_provider
from tests.support.event_log import every_stored_event
from tests.support.read_models import assert_live_equals_rebuilt
from tests.support.service_process import ServiceProcess, replay_under_load

pytestmark = pytest.mark.slow

HISTORY = 20_000  # suppressions already in the log: what the rebuild replays first
OUTCOMES = ("EmailDispatched", "DispatchFailed", "EmailSuppressed")


def hard_bounce(address: str) -> Event:
    return new_event(
        events_pb2.BounceReceived(
            provider_id=PROVIDER,
            recipient_hash=recipient_hash(address),
            recipient=address,
            bounce_type="Permanent",
            sns_message_id=str(uuid.uuid4()),
        ),
        account_id=ACCOUNT,
        aggregate_type="feedback",
        aggregate_id=uuid.uuid4().hex,
    )


def unsubscribed(address: str) -> Event:
    hashed = recipient_hash(address)
    return new_event(
        events_pb2.Unsubscribed(recipient_hash=hashed, recipient=address, source="api"),
        account_id=ACCOUNT,
        aggregate_type="subscription",
        aggregate_id=hashed,
    )


async def append_history(store: EventStore) -> None:
    events = [
        hard_bounce(f"old{i}@example.org") if i % 2 else unsubscribed(f"old{i}@example.org") for i in range(HISTORY)
    ]
    for start in range(0, HISTORY, 1000):
        assert not [
            o
            for o in await store.append_many([PendingAppend(e) for e in events[start : start + 1000]])
            if isinstance(o, Exception)
        ]


async def send_and_bounce(service: ServiceProcess, store: EventStore, stop: asyncio.Event) -> set[str]:
    """Until `stop`: batches of mail to long-suppressed, newly bounced and clean addresses, with a
    new hard bounce for one of those addresses after each batch."""
    queued: set[str] = set()
    counter = itertools.count()
    async with grpc.aio.insecure_channel(service.grpc_address) as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        while not stop.is_set():
            n = next(counter)
            recipients = [f"old{(n * 7 + k) % HISTORY}@example.org" for k in range(5)]
            recipients += [f"late{n - k}@example.org" for k in range(3) if n - k >= 0]
            recipients += [f"fresh{n}-{k}@example.org" for k in range(12)]
            answer = await stub.SendEmailBatch(
                dispatch_pb2.SendEmailBatchRequest(messages=[email(to=address) for address in recipients]),
                metadata=METADATA,
            )
            assert all(result.error_code == 0 for result in answer.results)
            queued |= {result.dispatch_id for result in answer.results}
            await store.append(hard_bounce(f"late{n}@example.org"))
            await asyncio.sleep(0.05)
    return queued


async def wait_for_outcomes(store: EventStore, queued: set[str], timeout: float = 60.0) -> list:
    async with asyncio.timeout(timeout):
        while True:
            stored = await every_stored_event(store.js, store.stream, store.prefix)
            settled = {s.event.aggregate_id for s in stored if s.event.type in OUTCOMES}
            if queued <= settled:
                return stored
            await asyncio.sleep(0.5)


def assert_never_sent_to_a_suppressed_address(stored: list) -> tuple[int, int]:
    """(emails sent, emails suppressed), after checking each sent one against the log."""
    suppressed_since: dict[str, int] = {}
    queued: dict[str, tuple[int, list[str]]] = {}
    sent = suppressed = 0
    for seq, _subject, event in stored:
        kind = event.WhichOneof("payload")
        if kind == "bounce_received" and event.bounce_received.bounce_type == "Permanent":
            suppressed_since.setdefault(event.bounce_received.recipient_hash, seq)
        elif kind == "unsubscribed" and not event.unsubscribed.list_id:
            suppressed_since.setdefault(event.unsubscribed.recipient_hash, seq)
        elif kind == "email_queued":
            queued[event.aggregate_id] = (seq, [recipient_hash(a.address) for a in event.email_queued.to])
        elif kind == "email_dispatched":
            queued_at, hashes = queued[event.aggregate_id]
            late = [h for h in hashes if suppressed_since.get(h, queued_at + 1) < queued_at]
            assert not late, f"{event.aggregate_id} went to an address suppressed before it was queued"
            sent += 1
        elif kind == "email_suppressed":
            suppressed += 1
    return sent, suppressed


async def test_rebuilding_dispatch_while_mail_flows_and_bounces_arrive(settings, sink, tmp_path):
    settings = replace(settings, shutdown_grace=2.0)
    store = await EventStore.connect(settings)
    await save_provider(
        store, settings, sink, max_send_rate=100_000.0, max_connections=8, max_messages_per_connection=1000
    )
    await append_history(store)
    service = ServiceProcess.for_settings("dispatch", settings, tmp_path / "dispatch.log").start()
    registry = create_engine(settings.database_url_for("dispatch"))
    try:
        await service.wait_until_serving()
        before = (await ReadModelGenerations(registry, "dispatch", holder="test").live()).number
        queued = await replay_under_load(service, settings, lambda stop: send_and_bounce(service, store, stop))
        sent, suppressed = assert_never_sent_to_a_suppressed_address(await wait_for_outcomes(store, queued))
        assert sent > 100 and suppressed > 100, (sent, suppressed)
        assert len(sink.received) >= sent
        generations = ReadModelGenerations(registry, "dispatch", holder="test")
        assert [g.number for g in await generations.every()] == [before + 1], "the old model was not dropped"
        await assert_live_equals_rebuilt(registry, "dispatch", dispatch_projections(settings), store)
    finally:
        service.stop()
        await registry.dispose()
        await store.close()
