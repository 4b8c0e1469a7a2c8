"""The product page's checks, live: a real SMTP login (STARTTLS and TLS) and the SES account API."""

from __future__ import annotations

from dataclasses import replace

import boto3
import grpc
import pytest

from services.config.main import build
from services.core.generated.postroom.v1 import config_pb2, config_pb2_grpc
from services.core.runtime import start_service
from tests.integration.config.conftest import AUTH, provider_settings
from tests.support.certificates import LocalCertificateAuthority
from tests.support.smtp import SesLikeSmtpServer, unused_loopback_host

SES_KEYS = dict(
    ses_access_key_id="AKIAIOSFODNN7EXAMPLE",
    ses_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    region="us-east-1",
)


async def save_verified(config, settings_pb):
    return await config.SaveProvider(
        config_pb2.SaveProviderRequest(account_id="acme", settings=settings_pb), metadata=AUTH
    )


@pytest.mark.parametrize("server_fixture", ["starttls_smtp", "implicit_tls_smtp"])
async def test_save_logs_in_over_tls_like_the_dispatcher(config, server_fixture, request):
    smtp = request.getfixturevalue(server_fixture)
    answer = await save_verified(config, provider_settings(smtp))
    login = next(c for c in answer.checks if c.name == "smtp_login")
    assert login.passed
    assert smtp.handler.auth_attempts == 1
    assert answer.provider.tls_mode == ("TLS" if smtp.port == 2465 else "STARTTLS")


async def test_wrong_smtp_password_is_invalid_credentials_with_the_fix(config, starttls_smtp):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await save_verified(
            config, provider_settings(starttls_smtp, smtp_password="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        )
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = error.value.details()
    assert details.startswith("Invalid Credentials: these must be your SES SMTP credentials, not your AWS access keys")
    assert "535" in details and "Create SMTP credentials" in details
    assert "40 characters" in details  # an AWS secret access key was pasted
    assert "wJalrXUtnFEMI" not in details


async def test_nothing_listening_is_dispatch_failed_unreachable(config):
    host = unused_loopback_host(2587)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await save_verified(config, provider_settings(smtp_host=host, smtp_port=2587))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.value.details().startswith("Dispatch Failed: the provider could not be reached")


async def test_an_untrusted_certificate_is_a_tls_failure(config, tmp_path):
    stranger = LocalCertificateAuthority.create(tmp_path / "stranger")
    host = unused_loopback_host(2587)
    smtp = SesLikeSmtpServer(
        host=host, port=2587, tls_context=stranger.server_context(host), implicit_tls=False
    ).start()
    try:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await save_verified(config, provider_settings(smtp))
        assert "TLS failed" in error.value.details()
        assert smtp.handler.auth_attempts == 0  # credentials never left over an unverified connection
    finally:
        smtp.stop()


@pytest.fixture
async def config_using_ses_api(settings):
    """Starts a config service whose SES API calls go to the given endpoint."""
    started = []

    async def start(endpoint: str) -> config_pb2_grpc.ConfigServiceStub:
        service = await start_service("config", replace(settings, ses_endpoint_url=endpoint), build)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}")
        started.append((service, channel))
        return config_pb2_grpc.ConfigServiceStub(channel)

    yield start
    for service, channel in started:
        await channel.close()
        await service.stop()


async def test_unverified_from_address_and_sandbox_are_reported(config_using_ses_api, moto_ses, starttls_smtp):
    config = await config_using_ses_api(moto_ses)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await save_verified(
            config, provider_settings(starttls_smtp, from_address="nobody@unverified.example", **SES_KEYS)
        )
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "From Address is not a verified identity" in error.value.details()


async def test_a_sandboxed_account_is_invalid_credentials_request_production_access(
    config_using_ses_api, moto_ses, starttls_smtp
):
    config, endpoint = await config_using_ses_api(moto_ses), moto_ses
    ses = boto3.client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=SES_KEYS["ses_access_key_id"],
        aws_secret_access_key=SES_KEYS["ses_secret_access_key"],
    )
    ses.create_email_identity(EmailIdentity="sender@example.com")
    verify = await config.VerifyProvider(
        config_pb2.VerifyProviderRequest(account_id="acme", settings=provider_settings(starttls_smtp, **SES_KEYS)),
        metadata=AUTH,
    )
    checks = {c.name: c for c in verify.checks}
    assert not verify.ok
    assert checks["smtp_login"].passed and checks["ses_identity"].passed
    assert not checks["ses_sandbox"].passed
    assert (
        checks["ses_sandbox"].message
        == "Invalid Credentials: the SES account is in the sandbox; request production access"
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await save_verified(config, provider_settings(starttls_smtp, **SES_KEYS))
    assert error.value.details().startswith("Invalid Credentials: the SES account is in the sandbox")


async def test_a_production_account_with_a_verified_domain_saves(
    config_using_ses_api, production_ses_api, starttls_smtp
):
    config = await config_using_ses_api(production_ses_api)
    answer = await save_verified(config, provider_settings(starttls_smtp, from_address="news@example.org", **SES_KEYS))
    assert {c.name: c.passed for c in answer.checks} == {"smtp_login": True, "ses_identity": True, "ses_sandbox": True}
    assert answer.provider.has_ses_secret_access_key


async def test_verify_reports_every_check_instead_of_stopping_at_the_first(config):
    verify = await config.VerifyProvider(
        config_pb2.VerifyProviderRequest(
            account_id="acme", settings=provider_settings(smtp_port=2525, from_address="bad")
        ),
        metadata=AUTH,
    )
    checks = {c.name: c for c in verify.checks}
    assert not verify.ok
    assert checks["host"].passed and not checks["port"].passed and not checks["from_address"].passed
    assert checks["smtp_login"].skipped


async def test_verify_a_saved_provider_uses_its_stored_password(config, starttls_smtp):
    saved = (await save_verified(config, provider_settings(starttls_smtp))).provider
    verify = await config.VerifyProvider(
        config_pb2.VerifyProviderRequest(account_id="acme", provider_id=saved.provider_id), metadata=AUTH
    )
    assert verify.ok, verify
    assert starttls_smtp.handler.auth_attempts == 2
