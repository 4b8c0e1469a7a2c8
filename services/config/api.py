"""The ConfigService gRPC servicer: proto in, application call, proto out."""

from __future__ import annotations

from services.config.application import ConfigApplication
from services.config.domain import Check, ProviderInput, ProviderView, SesStanding, SesTenantStanding, callback_url
from services.core.generated.postroom.v1 import config_pb2, config_pb2_grpc
from services.core.grpc_errors import rpc


class ConfigServicer(config_pb2_grpc.ConfigServiceServicer):
    def __init__(self, app: ConfigApplication, public_url: str) -> None:
        self.app = app
        self.public_url = public_url

    @rpc
    async def SaveProvider(self, request: config_pb2.SaveProviderRequest, context) -> config_pb2.SaveProviderResponse:
        view, checks = await self.app.save_provider(
            request.account_id,
            request.provider_id,
            request.version,
            input_of(request.settings),
            request.skip_verification,
        )
        return config_pb2.SaveProviderResponse(provider=self._provider(view), checks=[_check(c) for c in checks])

    @rpc
    async def GetProvider(self, request: config_pb2.GetProviderRequest, context) -> config_pb2.Provider:
        return self._provider(await self.app.get_provider(request.account_id, request.provider_id))

    @rpc
    async def ListProviders(
        self, request: config_pb2.ListProvidersRequest, context
    ) -> config_pb2.ListProvidersResponse:
        views, token = await self.app.list_providers(request.account_id, request.page_size, request.page_token)
        return config_pb2.ListProvidersResponse(providers=[self._provider(v) for v in views], next_page_token=token)

    @rpc
    async def DeleteProvider(
        self, request: config_pb2.DeleteProviderRequest, context
    ) -> config_pb2.DeleteProviderResponse:
        await self.app.delete_provider(request.account_id, request.provider_id, request.version)
        return config_pb2.DeleteProviderResponse()

    @rpc
    async def VerifyProvider(
        self, request: config_pb2.VerifyProviderRequest, context
    ) -> config_pb2.VerifyProviderResponse:
        if request.provider_id:
            checks = await self.app.verify_saved(request.account_id, request.provider_id)
        else:
            checks = await self.app.verify_settings(input_of(request.settings))
        return config_pb2.VerifyProviderResponse(
            ok=all(c.passed or c.skipped for c in checks), checks=[_check(c) for c in checks]
        )

    def _provider(self, view: ProviderView) -> config_pb2.Provider:
        return config_pb2.Provider(
            account_id=view.account_id,
            provider_id=view.provider_id,
            name=view.name,
            type=view.type,
            smtp_host=view.smtp_host,
            smtp_port=view.smtp_port,
            smtp_username=view.smtp_username,
            has_smtp_password=view.has_smtp_password,
            from_address=view.from_address,
            from_name=view.from_name,
            region=view.region,
            ses_access_key_id=view.ses_access_key_id,
            has_ses_secret_access_key=view.has_ses_secret_access_key,
            max_send_rate=view.max_send_rate,
            max_connections=view.max_connections,
            sns_topic_arns=list(view.sns_topic_arns),
            allow_first_sns_topic=view.allow_first_sns_topic,
            version=view.version,
            callback_url=callback_url(self.public_url, view.account_id, view.provider_id),
            tls_mode=view.tls_mode,
            ses_configuration_set=view.ses_configuration_set,
            ses_tenant=view.ses_tenant,
            fallback_provider_ids=list(view.fallback_provider_ids),
            ses_account=_standing(view.ses_account),
            ses_tenant_standing=_tenant_standing(view.ses_tenant_standing),
        )


def input_of(settings: config_pb2.ProviderSettings) -> ProviderInput:
    return ProviderInput(
        name=settings.name,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_username=settings.smtp_username,
        smtp_password=settings.smtp_password,
        from_address=settings.from_address,
        from_name=settings.from_name,
        region=settings.region,
        ses_access_key_id=settings.ses_access_key_id,
        ses_secret_access_key=settings.ses_secret_access_key,
        max_send_rate=settings.max_send_rate,
        max_connections=settings.max_connections,
        sns_topic_arns=tuple(settings.sns_topic_arns),
        allow_first_sns_topic=settings.allow_first_sns_topic,
        ses_configuration_set=settings.ses_configuration_set,
        ses_tenant=settings.ses_tenant,
        fallback_provider_ids=tuple(settings.fallback_provider_ids),
    )


def _standing(standing: SesStanding | None) -> config_pb2.SesAccountStanding | None:
    if standing is None:
        return None
    return config_pb2.SesAccountStanding(
        observed=True,
        enforcement_status=standing.enforcement_status,
        sending_enabled=standing.sending_enabled,
        max_send_rate=standing.max_send_rate,
        max_24_hour_send=standing.max_24_hour_send,
        sending_paused=standing.sending_paused,
    )


def _check(check: Check) -> config_pb2.VerificationCheck:
    return config_pb2.VerificationCheck(
        name=check.name, passed=check.passed, message=check.message, hint=check.hint, skipped=check.skipped
    )


def _tenant_standing(standing: SesTenantStanding | None) -> config_pb2.SesTenantStanding | None:
    if standing is None:
        return None
    return config_pb2.SesTenantStanding(
        observed=True,
        tenant_name=standing.tenant_name,
        sending_status=standing.sending_status,
        sending_paused=standing.sending_paused,
    )
