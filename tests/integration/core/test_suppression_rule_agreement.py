"""Dispatch and feedback apply the one suppression rule: fed the same random history of bounces,
complaints, deliveries and SES suppression-list changes, their read models (real tables, on each
backend) give the same answer for the recipient, whatever order and batches the events come in; and
the running services answer the same over gRPC where they used to differ."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from services.core.database import create_engine
from services.core.events import StoredEvent, new_event
from services.core.generated.postroom.v1 import (
    dispatch_pb2,
    dispatch_pb2_grpc,
    events_pb2,
    feedback_pb2,
    feedback_pb2_grpc,
)
from services.core.ids import recipient_hash
from services.core.live_engine import LiveEngine
from services.core.projection import ProjectionSet
from services.core.runtime import start_service
from services.core.settings import Settings
from services.core.suppression_rule import GLOBAL, suppression_reason
from services.dispatch import main as dispatch_main
from services.dispatch.projection import DispatchReadModel, SuppressionChecks, dispatch_projections
from services.feedback import domain as feedback_domain
from services.feedback import main as feedback_main
from services.feedback.projection import FeedbackReadModel, feedback_projections
from tests.conftest import TEST_TOKEN
from tests.support.read_models import runner_of
from tests.support.streams import stop_then_delete_streams

RULE = Settings()  # the default soft-bounce threshold and window
START = datetime(2026, 1, 1, tzinfo=UTC)
RECIPIENT = "pat@example.com"
HASH = recipient_hash(RECIPIENT)

# (kind, minutes after START, provider, SNS message number): few message numbers, so SNS retries
# (the same message twice) happen, and a window of days, so soft bounces fall in and out of it.
# Provider ids are the account's own, as real ones (UUIDs) are.
_happening = st.tuples(
    st.sampled_from(
        ["hard", "soft", "undetermined", "complaint", "delivery", "ses_bounce", "ses_complaint", "ses_removed"]
    ),
    st.integers(min_value=0, max_value=90 * 24 * 60),
    st.sampled_from(["p1", "p2"]),
    st.integers(min_value=0, max_value=12),
)
_history = st.lists(_happening, max_size=14)


def _payload(kind: str, at: datetime, provider: str, message: int):
    common = dict(provider_id=provider, recipient_hash=HASH, recipient=RECIPIENT, sns_message_id=f"m{message}")
    if kind in ("hard", "soft", "undetermined"):
        bounce_type = {"hard": "Permanent", "soft": "Transient", "undetermined": "Undetermined"}[kind]
        payload = events_pb2.BounceReceived(**common, bounce_type=bounce_type)
        payload.bounced_at.FromDatetime(at)
    elif kind == "complaint":
        payload = events_pb2.ComplaintReceived(**common)
        payload.complained_at.FromDatetime(at)
    elif kind == "delivery":
        payload = events_pb2.DeliveryReceived(**common)
        payload.delivered_at.FromDatetime(at)
    elif kind == "ses_removed":
        payload = events_pb2.SesSuppressionRemoved(
            provider_id=provider, recipient_hash=HASH, recipient=RECIPIENT, source="resubscribe"
        )
    else:
        payload = events_pb2.SesSuppressionImported(
            provider_id=provider, recipient_hash=HASH, recipient=RECIPIENT, ses_reason=kind.removeprefix("ses_").upper()
        )
        payload.last_update_time.FromDatetime(at)
    return payload


def _as_sns_delivers(history):
    """An SNS retry repeats its message: the same provider and MessageId carry the same feedback."""
    first: dict[tuple[str, int], tuple] = {}
    for kind, minutes, provider, message in history:
        if kind.startswith("ses_"):
            yield kind, minutes, provider, message
        else:
            yield first.setdefault((provider, message), (kind, minutes, provider, message))


def _stored(history, account_id: str, first_seq: int) -> list[StoredEvent]:
    history = list(_as_sns_delivers(history))
    return [
        StoredEvent(
            first_seq + n,
            f"t.recipient.{HASH}",
            new_event(
                _payload(kind, START + timedelta(minutes=minutes), f"{account_id}-{provider}", message),
                account_id=account_id,
                aggregate_type="recipient",
                aggregate_id=HASH,
            ),
        )
        for n, (kind, minutes, provider, message) in enumerate(history)
    ]


async def _apply_in_batches(projections: ProjectionSet, engine, events: list[StoredEvent], cuts: list[int]) -> None:
    bounds = sorted({0, len(events), *(c for c in cuts if c < len(events))})
    for start, end in itertools.pairwise(bounds):
        async with engine.begin() as conn:
            await projections.apply(conn, events[start:end])


def _live(engine) -> LiveEngine:
    live = LiveEngine()
    live.switch_to(engine, None)
    return live


async def _answers(url: str, history, cuts: list[int], seq: int) -> tuple[str | None, str | None]:
    account_id = f"a{uuid.uuid4().hex[:12]}"  # each example is its own account
    engine = create_engine(url)
    try:
        dispatch = ProjectionSet(dispatch_projections(RULE))
        feedback = ProjectionSet(feedback_projections())
        await dispatch.create_tables(engine)
        await feedback.create_tables(engine)
        events = _stored(history, account_id, seq)
        await _apply_in_batches(dispatch, engine, events, cuts)
        await _apply_in_batches(feedback, engine, events, cuts)

        entries = await DispatchReadModel(_live(engine)).suppression_entries(account_id, [HASH])
        checks = SuppressionChecks(DispatchReadModel(_live(engine)))  # a send's look-up, through the driver on SQLite
        try:
            sent_by = await checks.entries(account_id, [HASH])
        finally:
            await checks.close()
        assert {h: set(found) for h, found in sent_by.items()} == {h: set(found) for h, found in entries.items()}
        dispatch_reason = suppression_reason(entries.get(HASH, []), GLOBAL)
        evidence = await FeedbackReadModel(_live(engine)).recipient_evidence(account_id, HASH)
        feedback_reason = feedback_domain.suppression_reason(
            evidence,
            soft_bounce_threshold=RULE.soft_bounce_threshold,
            soft_bounce_window_days=RULE.soft_bounce_window_days,
        )
        return dispatch_reason, feedback_reason
    finally:
        await engine.dispose()


_sequence = itertools.count(1, 100)


def test_dispatch_and_feedback_agree_on_every_history(read_model_settings, tmp_path) -> None:
    url = read_model_settings.database_url_for("agreement")

    @hypothesis_settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(history=_history, cuts=st.lists(st.integers(min_value=1, max_value=13), max_size=4))
    def agree(history, cuts) -> None:
        dispatch_reason, feedback_reason = asyncio.run(_answers(url, history, cuts, next(_sequence)))
        assert dispatch_reason == feedback_reason, history

    agree()


def test_known_histories_get_the_answer_the_rule_gives(read_model_settings) -> None:
    """Where the two services used to differ: a complaint outranks a hard bounce, soft bounces count
    in event time, and an SNS retry of one soft bounce counts once."""
    url = read_model_settings.database_url_for("agreement")
    hard_then_complaint = [("hard", 0, "p1", 1), ("complaint", 5, "p1", 2)]
    assert asyncio.run(_answers(url, hard_then_complaint, [], next(_sequence))) == ("complaint", "complaint")
    soft = [("soft", 0, "p1", 1), ("soft", 60 * 24, "p1", 2), ("soft", 2 * 60 * 24, "p1", 3)]
    assert asyncio.run(_answers(url, soft, [1], next(_sequence))) == ("soft_bounces", "soft_bounces")
    assert asyncio.run(_answers(url, soft[:2] + [("soft", 2 * 60 * 24, "p1", 2)], [], next(_sequence))) == (None, None)


METADATA = (("authorization", f"Bearer {TEST_TOKEN}"),)
LONG_AGO = datetime.now(UTC) - timedelta(days=200)


def _recipient_event(payload, address: str) -> events_pb2.Event:
    return new_event(payload, account_id="acme", aggregate_type="recipient", aggregate_id=recipient_hash(address))


def _bounce(address: str, bounce_type: str, at: datetime, message: str) -> events_pb2.Event:
    payload = events_pb2.BounceReceived(
        provider_id="p1",
        recipient_hash=recipient_hash(address),
        recipient=address,
        bounce_type=bounce_type,
        sns_message_id=message,
    )
    payload.bounced_at.FromDatetime(at)
    return _recipient_event(payload, address)


def _complaint(address: str, at: datetime, message: str) -> events_pb2.Event:
    payload = events_pb2.ComplaintReceived(
        provider_id="p1", recipient_hash=recipient_hash(address), recipient=address, sns_message_id=message
    )
    payload.complained_at.FromDatetime(at)
    return _recipient_event(payload, address)


def _ses_listed(address: str, reason: str) -> events_pb2.Event:
    payload = events_pb2.SesSuppressionImported(
        provider_id="p1", recipient_hash=recipient_hash(address), recipient=address, ses_reason=reason
    )
    payload.last_update_time.FromDatetime(LONG_AGO)
    return _recipient_event(payload, address)


# Where the two services used to answer differently, and what the one rule says.
_CASES = {
    "both@example.org": (
        [_bounce("both@example.org", "Permanent", LONG_AGO, "m1"), _complaint("both@example.org", LONG_AGO, "m2")],
        "complaint",
    ),
    "old-soft@example.org": (
        [_bounce("old-soft@example.org", "Transient", LONG_AGO + timedelta(hours=n), f"m{3 + n}") for n in range(3)],
        "soft_bounces",
    ),
    "retried@example.org": ([_bounce("retried@example.org", "Transient", LONG_AGO, "m9")] * 3, None),
    "listed@example.org": ([_ses_listed("listed@example.org", "COMPLAINT")], "ses_complaint"),
}


@pytest.fixture
async def dispatch_and_feedback(read_model_settings):
    dispatch = await start_service("dispatch", read_model_settings, dispatch_main.build)
    feedback = await start_service("feedback", read_model_settings, feedback_main.build)
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") for service in (dispatch, feedback)]
    yield (
        (dispatch, feedback),
        dispatch_pb2_grpc.DispatchServiceStub(channels[0]),
        feedback_pb2_grpc.FeedbackServiceStub(channels[1]),
    )
    for channel in channels:
        await channel.close()
    await stop_then_delete_streams(read_model_settings, (feedback, dispatch))


async def test_the_two_services_answer_the_same_over_grpc(dispatch_and_feedback) -> None:
    services, dispatch, feedback = dispatch_and_feedback
    for events, _expected in _CASES.values():
        for event in events:
            await services[0].store.append(event)
    # Both services read the same log; a query answers once each has applied all of it (feedback
    # answering once it had applied some of an address's events made this flaky).
    last = await services[0].store.last_sequence()
    for service in services:
        assert await runner_of(service).wait_for(last, 20)

    answers = {}
    for address in _CASES:
        suppression = await dispatch.GetRecipientSuppression(
            dispatch_pb2.GetRecipientSuppressionRequest(account_id="acme", email=address), metadata=METADATA
        )
        status = await feedback.GetRecipientStatus(
            feedback_pb2.GetRecipientStatusRequest(account_id="acme", email=address), metadata=METADATA
        )
        answers[address] = (
            (suppression.suppressed, suppression.reason),
            (status.suppressed, status.suppression_reason),
        )

    assert answers == {
        address: (((expected is not None), expected or ""),) * 2 for address, (_events, expected) in _CASES.items()
    }
