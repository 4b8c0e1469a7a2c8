"""ConfigService over real gRPC, a real nats-server and real SMTP servers."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from services.core.generated.postroom.v1 import config_pb2
from tests.integration.config.conftest import AUTH, provider_settings


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    found = {}
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    return found


async def save(config, settings_pb, account="acme", provider_id="", version=0, skip=True):
    return await config.SaveProvider(
        config_pb2.SaveProviderRequest(
            account_id=account, provider_id=provider_id, version=version, settings=settings_pb, skip_verification=skip
        ),
        metadata=AUTH,
    )


async def test_save_get_list_delete(config_on_each_backend):
    config = config_on_each_backend
    saved = (await save(config, provider_settings())).provider
    assert saved.provider_id and saved.version > 0
    assert saved.callback_url == f"https://mail.example.test/sns/acme/{saved.provider_id}"
    assert saved.region == "us-east-1" and saved.tls_mode == "STARTTLS"
    assert saved.max_send_rate == 14 and saved.max_connections == 10
    assert saved.has_smtp_password

    got = await config.GetProvider(
        config_pb2.GetProviderRequest(account_id="acme", provider_id=saved.provider_id), metadata=AUTH
    )
    assert got == saved
    listed = await config.ListProviders(config_pb2.ListProvidersRequest(account_id="acme"), metadata=AUTH)
    assert [p.provider_id for p in listed.providers] == [saved.provider_id]
    assert not (
        await config.ListProviders(config_pb2.ListProvidersRequest(account_id="other"), metadata=AUTH)
    ).providers

    await config.DeleteProvider(
        config_pb2.DeleteProviderRequest(account_id="acme", provider_id=saved.provider_id), metadata=AUTH
    )
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await config.GetProvider(
            config_pb2.GetProviderRequest(account_id="acme", provider_id=saved.provider_id), metadata=AUTH
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_update_keeps_the_password_and_needs_the_current_version(config_on_each_backend):
    config = config_on_each_backend
    first = (await save(config, provider_settings())).provider
    update = provider_settings(name="Renamed", smtp_password="")
    second = (await save(config, update, provider_id=first.provider_id, version=first.version)).provider
    assert second.name == "Renamed" and second.has_smtp_password and second.version > first.version

    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await save(config, provider_settings(name="Stale"), provider_id=first.provider_id, version=first.version)
    assert stale.value.code() == grpc.StatusCode.ABORTED
    assert "stale version" in stale.value.details()

    with pytest.raises(grpc.aio.AioRpcError) as exists:
        await save(config, provider_settings(), provider_id=first.provider_id, version=0)
    assert exists.value.code() == grpc.StatusCode.ABORTED


async def test_another_account_cannot_see_or_change_a_provider(config_on_each_backend):
    config = config_on_each_backend
    saved = (await save(config, provider_settings())).provider
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await config.GetProvider(
            config_pb2.GetProviderRequest(account_id="mallory", provider_id=saved.provider_id), metadata=AUTH
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await save(config, provider_settings(), account="mallory", provider_id=saved.provider_id, version=saved.version)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    "metadata",
    [(), (("authorization", "Bearer wrong"),), (("authorization", "test-api-token-0123456789"),)],
    ids=["none", "wrong", "no-bearer"],
)
async def test_calls_without_the_right_token_are_unauthenticated(config, metadata):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await config.ListProviders(config_pb2.ListProvidersRequest(account_id="acme"), metadata=metadata)
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_health_and_reflection_need_no_token(config_service):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{config_service.grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(50):
            answer = await health.Check(health_pb2.HealthCheckRequest(service="postroom.v1.ConfigService"))
            if answer.status == health_pb2.HealthCheckResponse.SERVING:
                break
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


LONG = "x" * 300
BAD_FIELDS = [
    ({"name": ""}, "settings.name"),
    ({"name": LONG}, "settings.name"),
    ({"name": "Evil\r\nBcc: x@y.z"}, "settings.name"),
    ({"smtp_host": ""}, "settings.smtp_host"),
    ({"smtp_host": "smtp.example.com\r\n"}, "settings.smtp_host"),
    ({"smtp_port": 0}, "settings.smtp_port"),
    ({"smtp_port": 2525}, "settings.smtp_port"),
    ({"smtp_port": 70000}, "settings.smtp_port"),
    ({"smtp_username": ""}, "settings.smtp_username"),
    ({"smtp_username": "AKIA EXAMPLE"}, "settings.smtp_username"),
    ({"smtp_username": LONG}, "settings.smtp_username"),
    ({"smtp_password": ""}, "settings.smtp_password"),
    ({"smtp_password": "pa\nss"}, "settings.smtp_password"),
    ({"smtp_password": LONG}, "settings.smtp_password"),
    ({"from_address": ""}, "settings.from_address"),
    ({"from_address": "not-an-address"}, "settings.from_address"),
    ({"from_address": "a@b.com\r\nBcc: c@d.com"}, "settings.from_address"),
    ({"from_address": "x" * 250 + "@example.com"}, "settings.from_address"),
    ({"from_name": "Acme\nInc"}, "settings.from_name"),
    ({"from_name": LONG}, "settings.from_name"),
    ({"region": "mars-1"}, "settings.region"),
    ({"region": "eu-west-1"}, "settings.region"),
    ({"ses_access_key_id": "lowercase-key"}, "settings.ses_access_key_id"),
    ({"ses_access_key_id": "AKIAIOSFODNN7EXAMPLE"}, "settings.ses_secret_access_key"),
    ({"ses_secret_access_key": "secret"}, "settings.ses_secret_access_key"),
    ({"max_send_rate": -1}, "settings.max_send_rate"),
    ({"max_send_rate": float("nan")}, "settings.max_send_rate"),
    ({"max_send_rate": float("inf")}, "settings.max_send_rate"),
    ({"max_connections": 1000}, "settings.max_connections"),
    ({"sns_topic_arns": ["not-an-arn"]}, "settings.sns_topic_arns[0]"),
    (
        {"sns_topic_arns": ["arn:aws:sns:us-east-1:123456789012:ok", "arn:aws:s3:::bucket"]},
        "settings.sns_topic_arns[1]",
    ),
]


@pytest.mark.parametrize("override,field", BAD_FIELDS, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_FIELDS)])
async def test_each_bad_field_is_invalid_argument_naming_the_field(config, override, field):
    settings_pb = provider_settings()
    for key, value in override.items():
        if isinstance(value, list):
            getattr(settings_pb, key).extend(value)
        else:
            setattr(settings_pb, key, value)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await save(config, settings_pb)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(error.value), violations(error.value)


@pytest.mark.parametrize(
    "account,provider",
    [("", ""), ("a" * 65, ""), ("acme.corp", ""), ("acme", "bad id"), ("acme", "p" * 65), ("acme\n", "")],
)
async def test_bad_identifiers_are_invalid_argument(config, account, provider):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await save(config, provider_settings(), account=account, provider_id=provider, version=1 if provider else 0)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(error.value)) & {"account_id", "provider_id"}


async def test_every_problem_is_reported_at_once(config):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await save(config, config_pb2.ProviderSettings())
    assert {
        "settings.name",
        "settings.smtp_host",
        "settings.smtp_port",
        "settings.smtp_username",
        "settings.smtp_password",
        "settings.from_address",
    } <= set(violations(error.value))


async def test_a_request_of_the_wrong_shape_is_refused_cleanly(config_service):
    """Bytes that are not a SaveProviderRequest never crash the service."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{config_service.grpc_port}") as channel:
        raw = channel.unary_unary("/postroom.v1.ConfigService/SaveProvider")
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await raw(b"\xff\xff\xff\xff", metadata=AUTH)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        stub_answer = await channel.unary_unary("/grpc.health.v1.Health/Check")(b"")
        assert stub_answer is not None
