"""The deliverability guard, end to end: 600 emails through the SES simulator, 6% of them to its
bounce address. SES's feedback comes back through SNS to the feedback service; dispatch pauses the
provider's non-transactional mail at the guard line (4%), before the rate of what it sent reaches
SES's review line (5%); transactional mail still goes out; ResumeProvider sends the rest."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from prometheus_client import REGISTRY

from services.core.generated.postroom.v1 import dispatch_pb2, events_pb2
from tests.integration.dispatch.dispatch_support import ACCOUNT, METADATA, wait_for_status
from tests.integration.dispatch.ses_sim_suite import sim_suite
from tests.support.event_log import every_event

BOUNCE = "bounce@simulator.amazonses.com"  # with a +label per email, or the first bounce suppresses the rest
TOTAL, BOUNCING, CLEAN_HEAD = 600, 36, 400


def bulk(provider_id: str, to: str, index: int) -> dispatch_pb2.SendEmailRequest:
    return dispatch_pb2.SendEmailRequest(
        account_id=ACCOUNT,
        provider_id=provider_id,
        to=[events_pb2.EmailAddress(address=to)],
        subject=f"News {index}",
        text_body="This month's news",
        list_id="news",
        idempotency_key=f"news-{index}",
    )


def campaign(provider_id: str) -> list[dispatch_pb2.SendEmailRequest]:
    """A clean head, then a tail of old addresses: 36 of the 600 (6%) bounce, spread over the last 200."""
    bouncing = {CLEAN_HEAD + round(k * (TOTAL - CLEAN_HEAD) / BOUNCING) for k in range(BOUNCING)}
    return [
        bulk(provider_id, BOUNCE.replace("@", f"+{i}@") if i in bouncing else f"reader{i}@customer.test", i)
        for i in range(TOTAL)
    ]


async def health_events(store) -> list:
    return [e for e in await every_event(store.js, store.stream, store.prefix) if e.aggregate_type == "provider_health"]


async def sent(store) -> dict[str, str]:
    """dispatch id -> recipient of every EmailDispatched."""
    log = await every_event(store.js, store.stream, store.prefix)
    queued = {e.aggregate_id: e.email_queued.to[0].address for e in log if e.type == "EmailQueued"}
    return {e.aggregate_id: queued[e.aggregate_id] for e in log if e.type == "EmailDispatched"}


@pytest.fixture
async def suite(settings, tmp_path):
    async with sim_suite(settings, tmp_path, guard_check_seconds=0.05, dispatch_concurrency=8) as running:
        yield running


async def test_the_guard_pauses_bulk_mail_before_ses_would_review_and_resume_sends_the_rest(suite):
    # SES's feedback comes a moment after each send: at 25 a second only a few more go out before the pause.
    provider = await suite.save_provider(max_send_rate=25)
    await suite.subscribe_feedback(provider.provider_id)
    answer = await suite.dispatch.SendEmailBatch(
        dispatch_pb2.SendEmailBatchRequest(messages=campaign(provider.provider_id)), metadata=METADATA
    )
    ids = [result.dispatch_id for result in answer.results]
    assert all(ids)

    async def guard_paused() -> list:
        return [e for e in await health_events(suite.store) if e.provider_paused.cause == "guard"]

    assert await wait_until_async(guard_paused, timeout=90), "the guard never paused the provider"
    (paused,) = await guard_paused()
    assert paused.provider_paused.scope == "non_transactional"
    assert 0.04 <= paused.provider_paused.bounce_rate < 0.05
    assert paused.provider_paused.window_sends >= 500
    assert "SES reviews at 5%" in paused.provider_paused.reason
    assert paused.provider_paused.reason.startswith("bounce rate 4.")

    await asyncio.sleep(1.5)  # what was in flight settles; nothing more goes out
    before_resume = await sent(suite.store)
    bounced = sum(1 for to in before_resume.values() if to.startswith("bounce+"))
    print(
        f"paused at {paused.provider_paused.bounce_rate:.4f} over {paused.provider_paused.window_sends}; "
        f"SES got {bounced} bounces in {len(before_resume)} sends"
    )
    assert bounced / len(before_resume) < 0.05, f"{bounced} bounces in {len(before_resume)} sends reached SES"
    held = [dispatch_id for dispatch_id in ids if dispatch_id not in before_resume]
    assert held, "the pause held the rest of the campaign"
    view = await suite.dispatch.GetDispatch(
        dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=held[-1]), metadata=METADATA
    )
    assert view.status == dispatch_pb2.QUEUED
    assert "bounce rate" in view.waiting_reason and "bounce rate" in view.provider_paused_reason
    assert REGISTRY.get_sample_value("postroom_provider_paused", {"provider_id": provider.provider_id}) == 1

    receipt = await suite.dispatch.SendEmail(
        dispatch_pb2.SendEmailRequest(
            account_id=ACCOUNT,
            provider_id=provider.provider_id,
            to=[events_pb2.EmailAddress(address="buyer@customer.test")],
            subject="Your receipt",
            text_body="Thank you",
            transactional=True,
        ),
        metadata=METADATA,
    )
    assert (
        await wait_for_status(suite.dispatch, receipt.dispatch_id, dispatch_pb2.DISPATCHED)
    ).status == dispatch_pb2.DISPATCHED, "transactional mail keeps flowing below SES's pause line"
    assert len(await sent(suite.store)) == len(before_resume) + 1

    resumed = await suite.dispatch.ResumeProvider(
        dispatch_pb2.ResumeProviderRequest(
            account_id=ACCOUNT,
            provider_id=provider.provider_id,
            resumed_by="ops@acme.test",
            reason="removed the stale addresses from the list",
        ),
        metadata=METADATA,
    )
    assert len(resumed.lifted) == 1 and "bounce rate" in resumed.lifted[0] and not resumed.still_paused_reason
    for dispatch_id in held:
        assert (
            await wait_for_status(suite.dispatch, dispatch_id, dispatch_pb2.DISPATCHED, timeout=60)
        ).status == dispatch_pb2.DISPATCHED
    kinds = [e.type for e in await health_events(suite.store)]
    assert kinds == ["ProviderPaused", "ProviderResumed"]
    (resume_event,) = [e.provider_resumed for e in await health_events(suite.store) if e.type == "ProviderResumed"]
    assert (resume_event.resumed_by, resume_event.reason) == (
        "ops@acme.test",
        "removed the stale addresses from the list",
    )
    assert len(await sent(suite.store)) == TOTAL + 1


async def test_resume_refuses_bad_input_and_a_provider_that_is_not_paused(suite):
    provider = await suite.save_provider()
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await suite.dispatch.ResumeProvider(
            dispatch_pb2.ResumeProviderRequest(account_id=ACCOUNT, provider_id=provider.provider_id), metadata=METADATA
        )
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "resumed_by" in missing.value.details() or "resumed_by" in str(missing.value.trailing_metadata())
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await suite.dispatch.ResumeProvider(
            dispatch_pb2.ResumeProviderRequest(
                account_id=ACCOUNT, provider_id="nobody", resumed_by="ops", reason="why not"
            ),
            metadata=METADATA,
        )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as not_paused:
        await suite.dispatch.ResumeProvider(
            dispatch_pb2.ResumeProviderRequest(
                account_id=ACCOUNT, provider_id=provider.provider_id, resumed_by="ops", reason="why not"
            ),
            metadata=METADATA,
        )
    assert not_paused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no pause to lift" in not_paused.value.details()


async def wait_until_async(check, timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True
