"""Dispatch and feedback apply the one suppression rule: fed the same random history of bounces,
complaints, deliveries and SES suppression-list changes, their read models (real tables, on each
backend) give the same answer for the recipient, whatever order and batches the events come in."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from services.core.database import create_engine
from services.core.events import StoredEvent, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash
from services.core.live_engine import LiveEngine
from services.core.projection import ProjectionSet
from services.core.settings import Settings
from services.core.suppression_rule import GLOBAL, suppression_reason
from services.dispatch.projection import DispatchReadModel, dispatch_projections
from services.feedback import domain as feedback_domain
from services.feedback.projection import FeedbackReadModel, feedback_projections

RULE = Settings()                      # the default soft-bounce threshold and window
START = datetime(2026, 1, 1, tzinfo=UTC)
RECIPIENT = "pat@example.com"
HASH = recipient_hash(RECIPIENT)

# (kind, minutes after START, provider, SNS message number): few message numbers, so SNS retries
# (the same message twice) happen, and a window of days, so soft bounces fall in and out of it.
# Provider ids are the account's own, as real ones (UUIDs) are.
_happening = st.tuples(
    st.sampled_from(["hard", "soft", "undetermined", "complaint", "delivery", "ses_bounce", "ses_complaint",
                     "ses_removed"]),
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
        payload = events_pb2.SesSuppressionRemoved(provider_id=provider, recipient_hash=HASH, recipient=RECIPIENT,
                                                   source="resubscribe")
    else:
        payload = events_pb2.SesSuppressionImported(provider_id=provider, recipient_hash=HASH, recipient=RECIPIENT,
                                                    ses_reason=kind.removeprefix("ses_").upper())
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
    return [StoredEvent(first_seq + n, f"t.recipient.{HASH}",
                        new_event(_payload(kind, START + timedelta(minutes=minutes), f"{account_id}-{provider}",
                                           message),
                                  account_id=account_id, aggregate_type="recipient", aggregate_id=HASH))
            for n, (kind, minutes, provider, message) in enumerate(history)]


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
    account_id = f"a{uuid.uuid4().hex[:12]}"            # each example is its own account
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
        dispatch_reason = suppression_reason(entries.get(HASH, []), GLOBAL)
        evidence = await FeedbackReadModel(_live(engine)).recipient_evidence(account_id, HASH)
        feedback_reason = feedback_domain.suppression_reason(
            evidence, soft_bounce_threshold=RULE.soft_bounce_threshold,
            soft_bounce_window_days=RULE.soft_bounce_window_days)
        return dispatch_reason, feedback_reason
    finally:
        await engine.dispose()


_sequence = itertools.count(1, 100)


def test_dispatch_and_feedback_agree_on_every_history(read_model_settings, tmp_path) -> None:
    url = read_model_settings.database_url_for("agreement")

    @hypothesis_settings(max_examples=150, deadline=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
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
