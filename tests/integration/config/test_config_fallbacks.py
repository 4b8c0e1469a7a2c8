"""Fallback providers over real gRPC: saved and shown, and every bad fallback refused naming its field."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.core.generated.postroom.v1 import config_pb2
from tests.integration.config.conftest import AUTH, provider_settings
from tests.integration.config.test_config_api import save, violations


def precondition_subjects(error: grpc.aio.AioRpcError) -> dict[str, str]:
    found = {}
    for detail in rpc_status.from_call(error).details:
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure):
            found.update({v.subject: v.type for v in failure.violations})
    return found


async def test_a_provider_names_fallbacks_in_order_and_reads_them_back(config):
    eu = (await save(config, provider_settings(smtp_host="email-smtp.eu-west-1.amazonaws.com"))).provider
    ap = (await save(config, provider_settings(smtp_host="email-smtp.ap-south-1.amazonaws.com"))).provider
    primary = (await save(config, provider_settings(fallback_provider_ids=[eu.provider_id, ap.provider_id]))).provider
    assert list(primary.fallback_provider_ids) == [eu.provider_id, ap.provider_id]
    got = await config.GetProvider(
        config_pb2.GetProviderRequest(account_id="acme", provider_id=primary.provider_id), metadata=AUTH
    )
    assert list(got.fallback_provider_ids) == [eu.provider_id, ap.provider_id]
    assert not got.ses_account.observed, "no SES API keys: SES's standing is not known"


async def test_an_unknown_fallback_is_invalid_and_named(config):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await save(config, provider_settings(fallback_provider_ids=["no-such-provider"]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no provider no-such-provider" in violations(refused.value)["settings.fallback_provider_ids[0]"]


async def test_a_fallback_twice_or_itself_is_invalid(config):
    eu = (await save(config, provider_settings())).provider
    with pytest.raises(grpc.aio.AioRpcError) as twice:
        await save(config, provider_settings(fallback_provider_ids=[eu.provider_id, eu.provider_id]))
    assert "twice" in violations(twice.value)["settings.fallback_provider_ids[1]"]
    with pytest.raises(grpc.aio.AioRpcError) as itself:
        await save(
            config,
            provider_settings(fallback_provider_ids=[eu.provider_id]),
            provider_id=eu.provider_id,
            version=eu.version,
        )
    assert itself.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "itself" in violations(itself.value)["settings.fallback_provider_ids[0]"]


async def test_a_fallback_of_another_account_is_refused(config):
    other = (await save(config, provider_settings(), account="globex")).provider
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await save(config, provider_settings(fallback_provider_ids=[other.provider_id]))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_subjects(refused.value) == {"settings.fallback_provider_ids[0]": "FALLBACK_IN_ANOTHER_ACCOUNT"}


async def test_a_fallback_loop_is_refused_with_its_path(config):
    a = (await save(config, provider_settings())).provider
    b = (await save(config, provider_settings(fallback_provider_ids=[a.provider_id]))).provider
    c = (await save(config, provider_settings(fallback_provider_ids=[b.provider_id]))).provider
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await save(
            config,
            provider_settings(fallback_provider_ids=[c.provider_id]),
            provider_id=a.provider_id,
            version=a.version,
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_subjects(refused.value) == {"settings.fallback_provider_ids": "FALLBACK_LOOP"}
    assert f"{a.provider_id} -> {c.provider_id} -> {b.provider_id} -> {a.provider_id}" in refused.value.details()
