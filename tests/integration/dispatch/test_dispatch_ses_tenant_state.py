"""SES's standing of a provider's tenant, end to end: the simulator disables the tenant, config's next
poll records it (SesTenantObserved), dispatch holds the provider's mail with the reason (not failed,
not sent into SES's refusals), fails it over to a fallback that names no tenant, and sends it again
once SES reinstates the tenant."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from prometheus_client import REGISTRY

from services.core.generated.postroom.v1 import dispatch_pb2
from services.dispatch.domain import TENANT_PAUSED
from tests.integration.dispatch.dispatch_support import ACCOUNT, METADATA, wait_for_status
from tests.integration.dispatch.ses_sim_suite import receipt, sim_suite

POLL = 0.5
TENANT = "customer-a"


def tenant_sending(provider_id: str) -> float | None:
    return REGISTRY.get_sample_value("postroom_provider_ses_tenant_sending", {"provider_id": provider_id})


async def held_within(suite, provider_id: str, seconds: float) -> str:
    """The reason dispatch holds the provider's mail, once it does; fails after `seconds`."""
    providers = suite.dispatch_service.components.workers[0].__self__.context.providers
    started = time.monotonic()
    while not (reason := (await providers.get(ACCOUNT, provider_id)).paused_reason):
        assert time.monotonic() - started < seconds, f"not paused after {seconds}s"
        await asyncio.sleep(0.05)
    return reason


async def view_of(suite, dispatch_id: str) -> dispatch_pb2.Dispatch:
    return await suite.dispatch.GetDispatch(
        dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=dispatch_id), metadata=METADATA
    )


async def test_a_disabled_tenant_holds_its_providers_mail_until_ses_reinstates_it(settings, tmp_path):
    async with sim_suite(settings, tmp_path, ses_account_poll_seconds=POLL) as suite:
        suite.sim.add_tenant(TENANT)
        provider = await suite.save_provider(ses_tenant=TENANT)
        first = await suite.dispatch.SendEmail(receipt(provider.provider_id, 0), metadata=METADATA)
        assert (await wait_for_status(suite.dispatch, first.dispatch_id, dispatch_pb2.DISPATCHED)).status == (
            dispatch_pb2.DISPATCHED
        )
        assert tenant_sending(provider.provider_id) == 1

        suite.sim.set_tenant_status(TENANT, "DISABLED", cause="bounce rate")
        # One poll, plus the event's way through the log and dispatch's read model (cached for a second).
        reason = await held_within(suite, provider.provider_id, POLL + 3.0)
        assert f"tenant {TENANT!r}" in reason and "DISABLED" in reason
        held = await suite.dispatch.SendEmail(receipt(provider.provider_id, 1), metadata=METADATA)
        await asyncio.sleep(1.0)
        view = await view_of(suite, held.dispatch_id)
        assert view.status == dispatch_pb2.QUEUED, "held, not sent into SES's 554 refusal and failed"
        assert TENANT in view.waiting_reason and TENANT in view.provider_paused_reason
        assert tenant_sending(provider.provider_id) == 0
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await suite.dispatch.ResumeProvider(
                dispatch_pb2.ResumeProviderRequest(
                    account_id=ACCOUNT, provider_id=provider.provider_id, resumed_by="ops", reason="try anyway"
                ),
                metadata=METADATA,
            )
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and TENANT in refused.value.details()

        suite.sim.set_tenant_status(TENANT, "REINSTATED")
        assert (await wait_for_status(suite.dispatch, held.dispatch_id, dispatch_pb2.DISPATCHED)).status == (
            dispatch_pb2.DISPATCHED
        )
        assert tenant_sending(provider.provider_id) == 1


async def test_a_disabled_tenants_mail_fails_over_to_a_provider_without_it(settings, tmp_path):
    async with sim_suite(settings, tmp_path, ses_account_poll_seconds=POLL) as suite:
        suite.sim.add_tenant(TENANT)
        fallback = await suite.save_provider(name="SES without tenant")
        primary = await suite.save_provider(ses_tenant=TENANT, fallback_provider_ids=[fallback.provider_id])
        suite.sim.set_tenant_status(TENANT, "DISABLED")
        await held_within(suite, primary.provider_id, POLL + 3.0)
        sent = await suite.dispatch.SendEmail(receipt(primary.provider_id, 2), metadata=METADATA)
        view = await wait_for_status(suite.dispatch, sent.dispatch_id, dispatch_pb2.DISPATCHED)
        assert (view.status, view.sent_by_provider_id) == (dispatch_pb2.DISPATCHED, fallback.provider_id)


async def test_mail_ses_refuses_for_its_tenant_before_the_next_poll_waits(settings, tmp_path):
    """SES answers 554 "Sending paused for tenant" before config's poll has told dispatch: the email
    waits, refused again and again but never failed."""
    async with sim_suite(settings, tmp_path, ses_account_poll_seconds=3600) as suite:
        suite.sim.add_tenant(TENANT)
        provider = await suite.save_provider(ses_tenant=TENANT)
        suite.sim.set_tenant_status(TENANT, "DISABLED")
        refusals = REGISTRY.get_sample_value("postroom_smtp_replies_total", {"code": "554"}) or 0.0
        held = await suite.dispatch.SendEmail(receipt(provider.provider_id, 3), metadata=METADATA)
        deadline = time.monotonic() + 10
        while (REGISTRY.get_sample_value("postroom_smtp_replies_total", {"code": "554"}) or 0.0) < refusals + 2:
            assert time.monotonic() < deadline, "SES's refusal never came"
            await asyncio.sleep(0.05)
        view = await view_of(suite, held.dispatch_id)
        assert view.status in (dispatch_pb2.QUEUED, dispatch_pb2.SENDING), view
        assert view.waiting_reason == TENANT_PAUSED, "GetDispatch says why the email waits between tries"
        suite.sim.set_tenant_status(TENANT, "ENABLED")
        assert (await wait_for_status(suite.dispatch, held.dispatch_id, dispatch_pb2.DISPATCHED)).status == (
            dispatch_pb2.DISPATCHED
        )
