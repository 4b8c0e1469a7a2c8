"""Retries every replica can see: DispatchAttemptFailed events and what the read model makes of them."""

from __future__ import annotations

import asyncio
import functools

from sqlalchemy import select

from services.core.database import create_engine
from services.core.projection import ProjectionSet
from services.core.event_store import NEW_AGGREGATE
from services.core.runtime import start_service
from services.core.events import StoredEvent
from services.dispatch import events
from services.dispatch.domain import EmailRequest, Mailbox, SmtpOutcome, diagnose
from services.dispatch.projection.dispatches import QUEUED, DispatchesProjection, dispatches
from services.core.generated.postroom.v1 import dispatch_pb2
from services.dispatch import main as dispatch_main
from tests.integration.dispatch.dispatch_support import (
    ACCOUNT,
    FAST,
    METADATA,
    PROVIDER,
    email,
    save_provider,
    wait_for_status,
)

THROTTLED = SmtpOutcome(454, "Throttling failure: Maximum sending rate exceeded.")


async def test_each_retry_is_recorded_beside_the_dispatch_and_its_one_outcome(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    sink.script(*["454 Throttling failure: Maximum sending rate exceeded."] * 2)
    accepted = await stub.SendEmail(email(), metadata=METADATA)
    dispatched = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
    assert dispatched.attempts == 3
    attempts = await read_subject(store, f"{store.prefix}.{events.ATTEMPTS}.{accepted.dispatch_id}")
    recorded = [a.dispatch_attempt_failed for a in attempts]
    assert [(a.attempt, a.smtp_code) for a in recorded] == [(1, 454), (2, 454)]
    own = await read_subject(store, store.subject_for(events.AGGREGATE, accepted.dispatch_id))
    assert [e.type for e in own] == ["EmailQueued", "EmailDispatched"]


async def test_attempts_made_before_a_redelivery_count_toward_the_limit(store, dispatch_settings, sink):
    # A worker made every attempt but the last, then died: its EmailQueued is in the backlog of a
    # consumer created anew, as after a restart. The limit holds across the two deliveries.
    await save_provider(store, dispatch_settings, sink)
    queued = events.queued_event(
        EmailRequest(ACCOUNT, PROVIDER, to=(Mailbox("bob@example.org"),), subject="Hi", text_body="Hi"), "d-redelivered"
    )
    queued_seq = (await store.append(queued, expected_sequence=NEW_AGGREGATE)).stream_seq
    limit = dispatch_settings.dispatch_max_attempts
    await store.append(events.attempt_failed_event(queued, THROTTLED, diagnose(THROTTLED), limit - 1))
    sink.script(*["454 Throttling failure: Maximum sending rate exceeded."] * limit)
    service = await start_service("dispatch", dispatch_settings, functools.partial(dispatch_main.build, timings=FAST))
    try:
        outcome = await wait_for_outcome(store, "d-redelivered", queued_seq)
    finally:
        await service.stop()
    assert outcome.type == "DispatchFailed" and outcome.dispatch_failed.attempts == limit
    assert len(sink.handler.scripted_replies) == limit - 1, "exactly one more attempt was made"
    assert not sink.received


async def wait_for_outcome(store, dispatch_id: str, queued_seq: int, timeout: float = 15.0):
    async with asyncio.timeout(timeout):
        while True:
            last = await store.last_event(events.AGGREGATE, dispatch_id)
            if last is not None and last.stream_seq != queued_seq:
                return last.event
            await asyncio.sleep(0.05)


async def test_the_read_model_shows_attempts_until_the_outcome_and_never_after(read_model_settings):
    engine = create_engine(read_model_settings.database_url_for("dispatch-attempts"))
    projection = ProjectionSet([DispatchesProjection()])
    await projection.create_tables(engine)
    queued = events.queued_event(
        EmailRequest("acme", "ses", to=(Mailbox("bob@example.org"),), subject="Hi", text_body="Hi"), "d-1"
    )
    attempt = [events.attempt_failed_event(queued, THROTTLED, diagnose(THROTTLED), n) for n in (1, 2, 3)]
    sent = events.dispatched_event(queued, SmtpOutcome(250, "Ok 0100-abc"), 3, ("bob@example.org",), "ses-main")

    async def apply(*batch) -> dict:
        async with engine.begin() as conn:
            await projection.apply(conn, [StoredEvent(seq, "", event) for seq, event in batch])
        async with engine.connect() as conn:
            return dict((await conn.execute(select(dispatches))).mappings().one())

    row = await apply((1, queued), (2, attempt[0]))
    assert (row["status"], row["attempts"]) == (QUEUED, 1) and row["last_smtp_reply"].startswith("454")
    assert "sending quota" in row["hint"]
    row = await apply((3, attempt[1]))
    assert (row["status"], row["attempts"]) == (QUEUED, 2)
    row = await apply((4, sent), (5, attempt[2]))
    assert (row["status"], row["attempts"], row["last_smtp_reply"]) == ("DISPATCHED", 3, "250 Ok 0100-abc")
    row = await apply((6, attempt[2]))  # a replica's late report changes nothing
    assert (row["status"], row["attempts"], row["hint"]) == ("DISPATCHED", 3, "")
    await engine.dispose()


async def read_subject(store, subject: str) -> list:
    subscription = await store.js.subscribe(subject, stream=store.stream, ordered_consumer=True)
    found = []
    try:
        while True:
            found.append(events.Event.FromString((await subscription.next_msg(timeout=0.5)).data))
    except Exception:
        return found
    finally:
        await subscription.unsubscribe()
