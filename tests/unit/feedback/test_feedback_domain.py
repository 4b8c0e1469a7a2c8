"""Pure feedback rules: topics, events from SES feedback, suppression reasons, SES review lines."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.core.ids import recipient_hash
from services.feedback import domain
from services.core.suppression_rule import Reason
from services.feedback.domain import FeedbackCounts, ProviderTopics, RecipientEvidence, TopicDecision
from services.feedback.ses_feedback import parse_ses_feedback
from tests.support import ses_feedback_messages as ses

MINE = "arn:aws:sns:us-east-1:123456789012:mine"
OTHER = "arn:aws:sns:us-east-1:123456789012:other"


@pytest.mark.parametrize(
    "topics, allow_first, topic, confirming, expected",
    [
        ((MINE,), False, MINE, False, TopicDecision.ALLOWED),
        ((MINE,), False, OTHER, True, TopicDecision.REFUSED),
        ((), True, OTHER, True, TopicDecision.ALLOW_AS_FIRST),
        ((), True, OTHER, False, TopicDecision.REFUSED),  # a Notification never claims a topic
        ((MINE,), True, OTHER, True, TopicDecision.REFUSED),  # the first topic is taken
        ((), False, MINE, True, TopicDecision.REFUSED),
    ],
)
def test_topic_decision(topics, allow_first, topic, confirming, expected) -> None:
    provider = ProviderTopics("acct", topics, allow_first)
    assert domain.topic_decision(provider, topic, confirming=confirming) is expected


def test_one_event_per_recipient_with_a_dedupe_key_per_provider() -> None:
    items = parse_ses_feedback(ses.bounce(["A@Example.com", "b@example.com"], ses_message_id="ses-1"))

    events = domain.feedback_events(items, provider_id="p1", sns_message_id="m1", dispatch_id_of=lambda _: "d9")

    assert [e.msg_id for e in events] == ["p1:m1:0", "p1:m1:1"]
    assert [e.aggregate_id for e in events] == [recipient_hash("a@example.com"), recipient_hash("b@example.com")]
    assert [e.payload.dispatch_id for e in events] == ["d9", "d9"]
    assert events[0].payload.recipient == "A@example.com"
    assert events[0].payload.bounced_at.ToDatetime(tzinfo=UTC).year >= 2024


def test_dispatch_id_from_the_headers_wins_over_the_lookup() -> None:
    items = parse_ses_feedback(ses.complaint(["a@example.com"], dispatch_id="from-header"))

    [event] = domain.feedback_events(items, provider_id="p", sns_message_id="m", dispatch_id_of=lambda _: "looked-up")

    assert event.payload.dispatch_id == "from-header"
    assert domain.ses_message_ids_without_dispatch_id(items) == []


def test_feedback_that_changes_no_status_makes_no_event() -> None:
    items = parse_ses_feedback('{"eventType": "Open", "mail": {}, "open": {}}')
    assert domain.feedback_events(items, provider_id="p", sns_message_id="m", dispatch_id_of=lambda _: None) == []


_T = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "evidence, expected",
    [
        (RecipientEvidence(), None),
        (RecipientEvidence(hard_bounced=True), Reason.HARD_BOUNCE),
        (RecipientEvidence(hard_bounced=True, complained=True), Reason.COMPLAINT),
        (RecipientEvidence(soft_bounce_times=(_T, _T)), None),
        (RecipientEvidence(soft_bounce_times=(_T, _T, _T)), Reason.SOFT_BOUNCES),
        (RecipientEvidence(soft_bounce_times=(_T, _T + timedelta(days=31), _T + timedelta(days=62))), None),
        (RecipientEvidence(soft_bounce_times=(_T,) * 3, ses_reasons=("BOUNCE",)), Reason.SES_BOUNCE),
        (RecipientEvidence(ses_reasons=("BOUNCE", "COMPLAINT")), Reason.SES_COMPLAINT),
    ],
)
def test_suppression_reason(evidence, expected) -> None:
    assert domain.suppression_reason(evidence, soft_bounce_threshold=3, soft_bounce_window_days=30) is expected


@pytest.mark.parametrize(
    "counts, bounce_over, complaint_over",
    [
        (FeedbackCounts(sent=1000, bounced=49, complained=0), False, False),
        (FeedbackCounts(sent=1000, bounced=50, complained=1), True, True),
        (FeedbackCounts(sent=0), False, False),
    ],
)
def test_review_lines(counts, bounce_over, complaint_over) -> None:
    rates = domain.provider_rates(counts)
    assert (rates.bounce_rate_over_review_line, rates.complaint_rate_over_review_line) == (bounce_over, complaint_over)


def test_rates_never_pass_100_percent_when_mail_was_sent_outside_postroom() -> None:
    rates = domain.provider_rates(FeedbackCounts(sent=0, delivered=1, bounced=1))
    assert rates.bounce_rate == 0.5


def test_window() -> None:
    assert domain.stats_window(0) == 30
    assert domain.window_violation(367) and not domain.window_violation(366)
    assert domain.first_day_of_window(datetime(2026, 3, 10, 23, tzinfo=UTC), 10) == date(2026, 3, 1)


@pytest.mark.parametrize(
    "value, valid", [("4f8b4a5c-5a7e-5e6b-9f7d-0c3d2f1e9b8a", True), ("", False), ("a\r\nb", False), ("a" * 101, False)]
)
def test_sns_message_id(value, valid) -> None:
    assert domain.sns_message_id_is_valid(value) is valid
