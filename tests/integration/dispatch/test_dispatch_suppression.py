"""A suppressed recipient is never handed to SMTP; the read model follows the feedback events."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.core.events import new_event
from services.core.generated.postroom.v1 import dispatch_pb2, events_pb2
from services.core.ids import recipient_hash
from tests.integration.dispatch.dispatch_support import ACCOUNT, METADATA, email, save_provider

NOW = datetime.now(timezone.utc)


def recipient_event(payload, address: str, account_id: str = ACCOUNT):
    return new_event(payload, account_id=account_id, aggregate_type="recipient", aggregate_id=recipient_hash(address))


def bounce(address: str, kind: str, at: datetime = NOW):
    payload = events_pb2.BounceReceived(
        provider_id="ses-main", recipient_hash=recipient_hash(address), recipient=address, bounce_type=kind
    )
    payload.bounced_at.FromDatetime(at)
    return recipient_event(payload, address)


def complaint(address: str):
    return recipient_event(
        events_pb2.ComplaintReceived(recipient_hash=recipient_hash(address), recipient=address, feedback_type="abuse"),
        address,
    )


def unsubscribed(address: str, list_id: str = ""):
    return recipient_event(
        events_pb2.Unsubscribed(
            recipient_hash=recipient_hash(address), recipient=address, list_id=list_id, source="one-click"
        ),
        address,
    )


def resubscribed(address: str, list_id: str = ""):
    return recipient_event(
        events_pb2.Resubscribed(
            recipient_hash=recipient_hash(address), recipient=address, list_id=list_id, source="api"
        ),
        address,
    )


async def _final(stub, accepted) -> dispatch_pb2.Dispatch:
    import asyncio

    for _ in range(200):
        dispatch = await stub.GetDispatch(
            dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=accepted.dispatch_id), metadata=METADATA
        )
        if dispatch.status not in (dispatch_pb2.QUEUED, dispatch_pb2.SENDING):
            return dispatch
        await asyncio.sleep(0.05)
    raise AssertionError(f"{accepted.dispatch_id} never finished")


async def test_suppressed_recipients_never_reach_smtp(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    for event in [
        bounce("hard@example.org", "Permanent"),
        complaint("angry@example.org"),
        unsubscribed("gone@example.org"),
        unsubscribed("news-only@example.org", "news"),
        bounce("soft@example.org", "Transient", NOW - timedelta(days=2)),
        bounce("soft@example.org", "Undetermined", NOW - timedelta(days=1)),
        bounce("soft@example.org", "Transient", NOW),
        bounce("old-soft@example.org", "Transient", NOW - timedelta(days=60)),
        bounce("old-soft@example.org", "Transient", NOW - timedelta(days=1)),
        bounce("old-soft@example.org", "Transient", NOW),
    ]:
        await store.append(event)
    expected = {
        "hard@example.org": "hard_bounce",
        "angry@example.org": "complaint",
        "gone@example.org": "unsubscribed",
        "soft@example.org": "soft_bounces",
    }
    for address, reason in expected.items():
        dispatch = await _final(stub, await stub.SendEmail(email(to=address, list_id="news"), metadata=METADATA))
        assert dispatch.status == dispatch_pb2.SUPPRESSED, address
        assert reason in dispatch.hint
    news = await _final(
        stub, await stub.SendEmail(email(to="news-only@example.org", list_id="news"), metadata=METADATA)
    )
    other = await _final(
        stub, await stub.SendEmail(email(to="news-only@example.org", list_id="offers"), metadata=METADATA)
    )
    two_soft = await _final(stub, await stub.SendEmail(email(to="old-soft@example.org"), metadata=METADATA))
    assert (news.status, other.status, two_soft.status) == (
        dispatch_pb2.SUPPRESSED,
        dispatch_pb2.DISPATCHED,
        dispatch_pb2.DISPATCHED,
    )
    assert sorted(m.recipients[0] for m in sink.received) == ["news-only@example.org", "old-soft@example.org"]


async def test_only_the_suppressed_recipients_of_a_message_are_left_out(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    await store.append(complaint("angry@example.org"))
    to = [events_pb2.EmailAddress(address="angry@example.org"), events_pb2.EmailAddress(address="fine@example.org")]
    dispatch = await _final(stub, await stub.SendEmail(email(to=to), metadata=METADATA))
    assert dispatch.status == dispatch_pb2.DISPATCHED
    assert sink.received[0].recipients == ["fine@example.org"]
    assert "angry@example.org" not in sink.received[0].data.decode()


async def test_resubscribing_lifts_an_unsubscribe_but_not_a_bounce(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    for event in [
        unsubscribed("back@example.org"),
        bounce("back@example.org", "Permanent"),
        unsubscribed("back2@example.org"),
        resubscribed("back2@example.org"),
        resubscribed("back@example.org"),
    ]:
        await store.append(event)
    assert (
        await _final(stub, await stub.SendEmail(email(to="back2@example.org"), metadata=METADATA))
    ).status == dispatch_pb2.DISPATCHED
    state = await stub.GetRecipientSuppression(
        dispatch_pb2.GetRecipientSuppressionRequest(account_id=ACCOUNT, email="Back@Example.org"), metadata=METADATA
    )
    assert state.suppressed and state.reason == "hard_bounce"
    listed = await stub.ListSuppressions(
        dispatch_pb2.ListSuppressionsRequest(account_id=ACCOUNT, page_size=1), metadata=METADATA
    )
    assert [(s.recipient, s.reason) for s in listed.suppressions] == [("back@example.org", "hard_bounce")]
    assert listed.next_page_token
    rest = await stub.ListSuppressions(
        dispatch_pb2.ListSuppressionsRequest(account_id=ACCOUNT, page_size=1, page_token=listed.next_page_token),
        metadata=METADATA,
    )
    assert not rest.suppressions and not rest.next_page_token


async def test_suppressions_belong_to_one_account(stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    await store.append(
        recipient_event(
            events_pb2.ComplaintReceived(recipient_hash=recipient_hash("bob@example.org"), recipient="bob@example.org"),
            "bob@example.org",
            account_id="someone-else",
        )
    )
    assert (await _final(stub, await stub.SendEmail(email(), metadata=METADATA))).status == dispatch_pb2.DISPATCHED
