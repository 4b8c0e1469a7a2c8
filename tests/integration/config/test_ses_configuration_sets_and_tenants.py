"""A provider's SES configuration set and its account's SES tenant: checked in SES on save, sent as
X-SES-CONFIGURATION-SET and X-SES-TENANT on every message; the tenant's standing mirrored. Real config and dispatch services,
ses-sim for SES's API and SMTP interface."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.core.events import SES_TENANT_AGGREGATE
from services.core.generated.postroom.v1 import config_pb2, dispatch_pb2, events_pb2
from tests.conftest import TEST_TOKEN
from tests.integration.config.conftest import ses_provider_settings
from tests.integration.config.test_config_api import violations
from tests.support.event_log import every_event

METADATA = (("authorization", f"Bearer {TEST_TOKEN}"),)
ACCOUNT = "acme"


def precondition_subjects(error: grpc.aio.AioRpcError) -> dict[str, str]:
    found = {}
    for detail in rpc_status.from_call(error).details:
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure):
            found.update({v.subject: v.description for v in failure.violations})
    return found


async def save(stub, settings: config_pb2.ProviderSettings):
    return await stub.SaveProvider(
        config_pb2.SaveProviderRequest(account_id=ACCOUNT, settings=settings), metadata=METADATA
    )


async def test_the_configuration_set_and_tenant_headers_reach_ses(ses_suite, ses_sim):
    _config, config_stub, dispatch, _unsubscribe = ses_suite
    ses_sim.add_configuration_set("marketing")
    ses_sim.add_tenant("customer-a")
    saved = await save(
        config_stub, ses_provider_settings(ses_sim, ses_configuration_set="marketing", ses_tenant="customer-a")
    )
    assert (saved.provider.ses_configuration_set, saved.provider.ses_tenant) == ("marketing", "customer-a")
    assert {c.name for c in saved.checks if c.passed} >= {"ses_configuration_set", "ses_tenant"}

    accepted = await dispatch.SendEmail(
        dispatch_pb2.SendEmailRequest(
            account_id=ACCOUNT,
            provider_id=saved.provider.provider_id,
            subject="Hi",
            text_body="Hello",
            to=[events_pb2.EmailAddress(address="jane@customer.test")],
            transactional=True,
        ),
        metadata=METADATA,
    )
    deadline = time.monotonic() + 20
    while not len(ses_sim.inbox) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)

    (kept,) = ses_sim.inbox.newest_first()
    assert (kept.configuration_set, kept.tenant) == ("marketing", "customer-a")
    assert kept.recipients == ("jane@customer.test",)
    assert accepted.dispatch_id


@pytest.mark.parametrize("field, kind", [("ses_configuration_set", "configuration set"), ("ses_tenant", "tenant")])
async def test_a_name_ses_does_not_know_is_refused_naming_the_field(ses_suite, ses_sim, field, kind):
    _config, config_stub, _dispatch, _unsubscribe = ses_suite
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await save(config_stub, ses_provider_settings(ses_sim, **{field: "no-such-name"}))
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    subjects = precondition_subjects(refused.value)
    assert f"settings.{field}" in subjects[field] and f"no {kind} named 'no-such-name'" in subjects[field]


@pytest.mark.parametrize(
    "fields, field, wording",
    [
        ({"ses_configuration_set": "has spaces"}, "settings.ses_configuration_set", "letters, digits"),
        ({"ses_tenant": "t" * 65}, "settings.ses_tenant", "1 to 64"),
        (
            {"ses_tenant": "customer-a", "ses_access_key_id": "", "ses_secret_access_key": ""},
            "settings.ses_tenant",
            "needs the SES API keys",
        ),
    ],
)
async def test_malformed_names_are_invalid_arguments(ses_suite, ses_sim, fields, field, wording):
    _config, config_stub, _dispatch, _unsubscribe = ses_suite
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await save(config_stub, ses_provider_settings(ses_sim, **fields))
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert wording in violations(refused.value)[field]


async def test_a_caller_cannot_set_the_ses_headers_itself(ses_suite, ses_sim):
    _config, config_stub, dispatch, _unsubscribe = ses_suite
    saved = await save(config_stub, ses_provider_settings(ses_sim))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await dispatch.SendEmail(
            dispatch_pb2.SendEmailRequest(
                account_id=ACCOUNT,
                provider_id=saved.provider.provider_id,
                subject="Hi",
                text_body="Hello",
                to=[events_pb2.EmailAddress(address="jane@customer.test")],
                headers={"X-SES-TENANT": "someone-else"},
            ),
            metadata=METADATA,
        )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "headers" in " ".join(violations(refused.value))


async def standing(stub, provider_id: str) -> tuple[str, str, bool]:
    """GetProvider's view of the provider's tenant: its name, SES's SendingStatus, and whether SES holds its mail."""
    shown = (
        await stub.GetProvider(
            config_pb2.GetProviderRequest(account_id=ACCOUNT, provider_id=provider_id), metadata=METADATA
        )
    ).ses_tenant_standing
    assert shown.observed
    return shown.tenant_name, shown.sending_status, shown.sending_paused


async def test_the_tenants_sending_status_is_recorded_at_save_and_on_each_change(ses_suite, ses_sim):
    config, config_stub, _dispatch, _unsubscribe = ses_suite
    ses_sim.add_tenant("customer-a")
    saved = await save(config_stub, ses_provider_settings(ses_sim, ses_tenant="customer-a"))
    watch = config.components.workers[3].__self__  # the running service's SesTenantWatch
    await watch.poll_once()  # nothing changed: nothing recorded

    assert (await standing(config_stub, saved.provider.provider_id)) == ("customer-a", "ENABLED", False)

    ses_sim.set_tenant_status("customer-a", "DISABLED", cause="bounce rate")
    await watch.poll_once()
    await watch.poll_once()
    assert (await standing(config_stub, saved.provider.provider_id)) == ("customer-a", "DISABLED", True)
    ses_sim.set_tenant_status("customer-a", "REINSTATED")
    await watch.poll_once()
    assert (await standing(config_stub, saved.provider.provider_id)) == ("customer-a", "REINSTATED", False)

    observed = [
        e.ses_tenant_observed
        for e in await every_event(config.store.js, config.store.stream, config.store.prefix)
        if e.aggregate_type == SES_TENANT_AGGREGATE
    ]
    assert [(o.provider_id, o.tenant_name) for o in observed] == [(saved.provider.provider_id, "customer-a")] * 3
    assert [o.sending_status for o in observed] == ["ENABLED", "DISABLED", "REINSTATED"]
