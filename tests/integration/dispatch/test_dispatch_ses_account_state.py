"""SES's own account state, end to end: the simulator shuts the account down, config's next poll
records it, dispatch holds the provider's mail (not failed, not lost) with the reason, GetProvider
and a metric show it; back to HEALTHY, the mail goes out."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from prometheus_client import REGISTRY

from services.core.generated.postroom.v1 import config_pb2, dispatch_pb2
from services.dispatch.domain import ACCOUNT_PAUSED
from tests.integration.dispatch.dispatch_support import ACCOUNT, METADATA, wait_for_status
from tests.integration.dispatch.ses_sim_suite import receipt, sim_suite

POLL = 0.5


@pytest.fixture
async def suite(settings, tmp_path):
    async with sim_suite(settings, tmp_path, ses_account_poll_seconds=POLL) as running:
        yield running


async def standing(suite, provider_id: str) -> config_pb2.SesAccountStanding:
    provider = await suite.config.GetProvider(
        config_pb2.GetProviderRequest(account_id=ACCOUNT, provider_id=provider_id), metadata=METADATA
    )
    return provider.ses_account


async def paused_within(suite, provider_id: str, seconds: float) -> float:
    """How long until dispatch holds the provider's mail; fails after `seconds`."""
    started = time.monotonic()
    while True:
        got = REGISTRY.get_sample_value("postroom_provider_ses_account_sending", {"provider_id": provider_id})
        lookup = await suite.dispatch_service.components.workers[0].__self__.context.providers.get(ACCOUNT, provider_id)
        if lookup.paused_reason:
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, f"not paused after {seconds}s (metric {got})"
        await asyncio.sleep(0.05)


async def test_a_shut_down_account_holds_mail_until_ses_says_healthy_again(suite):
    provider = await suite.save_provider()
    first = await suite.dispatch.SendEmail(receipt(provider.provider_id, 0), metadata=METADATA)
    assert (
        await wait_for_status(suite.dispatch, first.dispatch_id, dispatch_pb2.DISPATCHED)
    ).status == dispatch_pb2.DISPATCHED
    assert (await standing(suite, provider.provider_id)).enforcement_status == "HEALTHY"

    suite.sim.set_account(enforcement_status="SHUTDOWN")
    # One poll, plus the event's way through the log and dispatch's read model (cached for a second).
    assert await paused_within(suite, provider.provider_id, POLL + 2.0) < POLL + 2.0
    shown = await standing(suite, provider.provider_id)
    assert (shown.observed, shown.enforcement_status, shown.sending_paused) == (True, "SHUTDOWN", True)
    held = await suite.dispatch.SendEmail(receipt(provider.provider_id, 1), metadata=METADATA)
    await asyncio.sleep(1.0)
    view = await suite.dispatch.GetDispatch(
        dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=held.dispatch_id), metadata=METADATA
    )
    assert view.status == dispatch_pb2.QUEUED, "held, not sent into SES's 554 refusal and failed"
    assert "SHUTDOWN" in view.waiting_reason and "SHUTDOWN" in view.provider_paused_reason
    assert (
        REGISTRY.get_sample_value("postroom_provider_ses_account_sending", {"provider_id": provider.provider_id}) == 0
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await suite.dispatch.ResumeProvider(
            dispatch_pb2.ResumeProviderRequest(
                account_id=ACCOUNT, provider_id=provider.provider_id, resumed_by="ops", reason="try anyway"
            ),
            metadata=METADATA,
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "SHUTDOWN" in refused.value.details()

    suite.sim.set_account(enforcement_status="HEALTHY")
    assert (
        await wait_for_status(suite.dispatch, held.dispatch_id, dispatch_pb2.DISPATCHED)
    ).status == dispatch_pb2.DISPATCHED
    assert (
        REGISTRY.get_sample_value("postroom_provider_ses_account_sending", {"provider_id": provider.provider_id}) == 1
    )
    assert (await standing(suite, provider.provider_id)).enforcement_status == "HEALTHY"


async def test_sending_disabled_holds_mail_too(suite):
    provider = await suite.save_provider()
    suite.sim.set_account(sending_enabled=False)
    await paused_within(suite, provider.provider_id, POLL + 2.0)
    held = await suite.dispatch.SendEmail(receipt(provider.provider_id, 2), metadata=METADATA)
    await asyncio.sleep(0.8)
    view = await suite.dispatch.GetDispatch(
        dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=held.dispatch_id), metadata=METADATA
    )
    assert view.status == dispatch_pb2.QUEUED and "SendingEnabled false" in view.waiting_reason
    suite.sim.set_account(sending_enabled=True)
    assert (
        await wait_for_status(suite.dispatch, held.dispatch_id, dispatch_pb2.DISPATCHED)
    ).status == dispatch_pb2.DISPATCHED


async def test_mail_sent_before_the_next_poll_sees_the_pause_waits_too(settings, tmp_path):
    """SES refuses with 554 "Sending paused" before config's poll has told dispatch: the email
    waits for the account, it is not failed."""
    async with sim_suite(settings, tmp_path, ses_account_poll_seconds=3600) as suite:
        provider = await suite.save_provider()
        suite.sim.set_account(enforcement_status="SHUTDOWN")
        held = await suite.dispatch.SendEmail(receipt(provider.provider_id, 3), metadata=METADATA)
        await asyncio.sleep(1.5)
        view = await suite.dispatch.GetDispatch(
            dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=held.dispatch_id), metadata=METADATA
        )
        assert view.status in (dispatch_pb2.QUEUED, dispatch_pb2.SENDING), view
        assert view.waiting_reason == ACCOUNT_PAUSED, "GetDispatch says why the email waits between tries"
        suite.sim.set_account(enforcement_status="HEALTHY")
        assert (
            await wait_for_status(suite.dispatch, held.dispatch_id, dispatch_pb2.DISPATCHED)
        ).status == dispatch_pb2.DISPATCHED
