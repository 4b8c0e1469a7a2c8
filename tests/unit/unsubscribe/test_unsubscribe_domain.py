"""Unsubscribe rules and pages (pure)."""

from services.core.events import new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash
from services.unsubscribe import domain, pages
from services.unsubscribe.domain import UnsubscribeCommand


def test_subscription_id_is_stable_subject_safe_and_per_account_address_list():
    h = recipient_hash("a@example.com")
    first = domain.subscription_id("acme", h, "news")
    assert first == domain.subscription_id("acme", h, "news")
    assert (
        len(
            {
                first,
                domain.subscription_id("other", h, "news"),
                domain.subscription_id("acme", h, ""),
                domain.subscription_id("acme", recipient_hash("b@example.com"), "news"),
            }
        )
        == 4
    )
    assert new_event(
        events_pb2.Unsubscribed(recipient_hash=h),
        account_id="acme",
        aggregate_type=domain.AGGREGATE_TYPE,
        aggregate_id=first,
    )
    assert first[14] == "8"  # UUID version 8 (RFC 9562, name-based)


def test_state_is_the_last_event():
    unsubscribed = new_event(events_pb2.Unsubscribed(), account_id="a", aggregate_type="subscription", aggregate_id="x")
    resubscribed = new_event(events_pb2.Resubscribed(), account_id="a", aggregate_type="subscription", aggregate_id="x")
    assert domain.is_unsubscribed(unsubscribed)
    assert not domain.is_unsubscribed(resubscribed) and not domain.is_unsubscribed(None)


def test_violations_name_each_bad_field():
    bad = UnsubscribeCommand(account_id="a b", email="nope", list_id="x\r\ny", reason="r" * 501, source="fax")
    assert {v.field for v in domain.unsubscribe_violations(bad)} == {
        "account_id",
        "email",
        "list_id",
        "reason",
        "source",
    }
    assert domain.unsubscribe_violations(UnsubscribeCommand("acme", " Ann@Example.COM ", "news")) == []
    assert {v.field for v in domain.status_violations("acme", "a@example.com", "f" * 64)} == {"recipient_hash"}
    assert {v.field for v in domain.resubscribe_violations("acme", "a@example.com", "", "complaint")} == {"source"}


def test_payload_carries_the_normalised_address_and_its_hash():
    payload = domain.unsubscribed_payload(UnsubscribeCommand("acme", " Ann@Example.COM ", "news", source="link"))
    assert payload.recipient == "ann@example.com" and payload.recipient_hash == recipient_hash("ann@example.com")


def test_a_complaint_becomes_a_global_unsubscribe_without_the_raw_address():
    payload = domain.complaint_unsubscribe(
        events_pb2.ComplaintReceived(
            recipient_hash=recipient_hash("x@example.com"), recipient="x@example.com", feedback_type="abuse"
        )
    )
    assert (payload.list_id, payload.source, payload.recipient, payload.reason) == (
        "",
        "complaint",
        "",
        "complaint: abuse",
    )
    assert domain.complaint_unsubscribe(events_pb2.ComplaintReceived()) is None


def test_state_blocks_global_and_its_lists():
    state = domain.SubscriptionState("acme", "h", False, ("news",))
    assert state.blocks("news") and not state.blocks("offers") and not state.blocks("")
    assert domain.SubscriptionState("acme", "h", True, ()).blocks("anything")


def test_pages_escape_the_list_name_and_post_back_to_themselves():
    page = pages.confirm_page('<script>alert(1)</script>"')
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert '<form method="post">' in page and "action=" not in page.split("<form")[1].split(">")[0]
    assert "all emails from this sender" in pages.confirm_page("")
    assert (
        "style-src 'sha256-" in pages.CONTENT_SECURITY_POLICY
        and "frame-ancestors 'none'" in pages.CONTENT_SECURITY_POLICY
    )
