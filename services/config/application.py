"""Config use cases: save, read, delete and verify providers over the event store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from services.config import domain, verification
from services.config.domain import (
    FALLBACKS_FIELD,
    Check,
    ProviderInput,
    ProviderView,
    SesStanding,
    SesTenantStanding,
)
from services.config.projection import ProviderReadModel, sealed_secrets, view_from_event
from services.config.ses_account import SesAccountWatch
from services.config.ses_listings import SesListingsReadModel
from services.config.ses_suppression_sync import SesSuppressionSync
from services.config.ses_tenant import SesTenantWatch
from services.core.errors import (
    Conflict,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
    require,
)
from services.core.event_store import NEW_AGGREGATE, EventStore
from services.core.events import SES_ACCOUNT_AGGREGATE, SES_TENANT_AGGREGATE, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import uuid7
from services.core.projection import READ_YOUR_WRITES_SECONDS, ProjectionRunner
from services.core.secret_box import SecretBox, provider_secret_aad
from services.core.settings import Settings


@dataclass(frozen=True)
class CurrentProvider:
    view: ProviderView | None
    last_seq: int  # the subject's last sequence, including a deletion
    smtp_password_sealed: bytes = b""
    ses_secret_sealed: bytes = b""


class ConfigApplication:
    def __init__(self, settings: Settings, store: EventStore, runner: ProjectionRunner, box: SecretBox) -> None:
        self.settings = settings
        self.store = store
        self.runner = runner
        self.box = box
        self.read_model = ProviderReadModel(runner.engine)
        self.ses_accounts = SesAccountWatch(settings, store, self.read_model, box)
        self.ses_tenants = SesTenantWatch(settings, store, self.read_model, box)
        self.ses_suppressions = SesSuppressionSync(
            settings, store, self.read_model, SesListingsReadModel(runner.engine), box
        )

    async def save_provider(
        self, account_id: str, provider_id: str, version: int, settings: ProviderInput, skip_verification: bool
    ) -> tuple[ProviderView, list[Check]]:
        require(domain.identity_violations(account_id, provider_id, provider_required=False))
        current = await self._current(account_id, provider_id) if provider_id else CurrentProvider(None, 0)
        _check_version(current, version)
        require(
            domain.settings_violations(
                settings,
                password_stored=bool(current.smtp_password_sealed),
                secret_key_stored=bool(current.ses_secret_sealed),
                allow_custom_host=self.settings.allow_custom_smtp_host,
            )
        )
        provider_id = provider_id or str(uuid7())
        await self._check_fallbacks(account_id, provider_id, settings.fallback_provider_ids)
        settings = domain.with_defaults(self._with_stored_secrets(settings, current, account_id, provider_id))
        checks = [] if skip_verification else await self._live_checks(settings)
        _refuse_failed(checks)
        event = new_event(
            self._saved_event(account_id, provider_id, settings),
            account_id=account_id,
            aggregate_type="provider",
            aggregate_id=provider_id,
        )
        appended = await self.store.append_durably(
            event, expected_sequence=current.last_seq, patience=self.settings.append_patience
        )
        if settings.ses_access_key_id and not skip_verification:
            await self.ses_accounts.observe(account_id, provider_id, self._ses_target(settings))
            if settings.ses_tenant:
                await self.ses_tenants.observe(account_id, provider_id, settings.ses_tenant, self._ses_target(settings))
        await self.runner.wait_for(appended.stream_seq, READ_YOUR_WRITES_SECONDS)
        if settings.ses_access_key_id and not skip_verification:
            # After the read model has the provider: the import compares with what it last imported.
            await self.ses_suppressions.sync(account_id, provider_id, self._ses_target(settings))
        return view_from_event(account_id, event.provider_saved, appended.stream_seq), checks

    async def get_provider(self, account_id: str, provider_id: str) -> ProviderView:
        require(domain.identity_violations(account_id, provider_id, provider_required=True))
        view = await self.read_model.get(account_id, provider_id)
        if view is None:
            raise NotFound(f"provider {provider_id} not found")
        return replace(
            view,
            ses_account=await self._ses_standing(account_id, provider_id),
            ses_tenant_standing=await self._ses_tenant_standing(account_id, provider_id, view.ses_tenant),
        )

    async def _ses_standing(self, account_id: str, provider_id: str) -> SesStanding | None:
        observed = await self._last_observed(SES_ACCOUNT_AGGREGATE, "ses_account_observed", account_id, provider_id)
        if observed is None:
            return None
        return SesStanding(
            observed.enforcement_status, observed.sending_enabled, observed.max_send_rate, observed.max_24_hour_send
        )

    async def _ses_tenant_standing(self, account_id: str, provider_id: str, tenant: str) -> SesTenantStanding | None:
        """The last GetTenant of the tenant the provider names now (none for a tenant it named before)."""
        if not tenant:
            return None
        observed = await self._last_observed(SES_TENANT_AGGREGATE, "ses_tenant_observed", account_id, provider_id)
        if observed is None or observed.tenant_name != tenant:
            return None
        return SesTenantStanding(tenant, observed.sending_status)

    async def _last_observed(self, aggregate_type: str, payload: str, account_id: str, provider_id: str):
        """The payload of the provider's last observation of SES, if this account recorded one."""
        last = await self.store.last_event(aggregate_type, provider_id)
        if last is None or last.event.account_id != account_id or not last.event.HasField(payload):
            return None
        return getattr(last.event, payload)

    async def _check_fallbacks(self, account_id: str, provider_id: str, fallbacks: tuple[str, ...]) -> None:
        """Each fallback is a provider of this account, and none leads back to this one."""
        unknown, elsewhere = [], []
        for index, fallback in enumerate(fallbacks):
            field_name = f"{FALLBACKS_FIELD}[{index}]"
            if fallback == provider_id:
                unknown.append(FieldViolation(field_name, "is this provider itself: a fallback must be another one"))
                continue
            last = await self.store.last_event("provider", fallback)
            if last is None or last.event.HasField("provider_deleted"):
                unknown.append(FieldViolation(field_name, f"no provider {fallback}: save the fallback first"))
            elif last.event.account_id != account_id:
                elsewhere.append(
                    PreconditionViolation(
                        "FALLBACK_IN_ANOTHER_ACCOUNT",
                        field_name,
                        f"{fallback} is not a provider of account {account_id}: a "
                        "fallback sends the same account's mail",
                    )
                )
        if unknown:
            raise InvalidArgument(unknown)
        if elsewhere:
            raise FailedPrecondition(elsewhere[0].description, elsewhere)
        loop = domain.fallback_loop(provider_id, fallbacks, await self.read_model.fallbacks(account_id))
        if loop:
            raise FailedPrecondition(
                f"fallback loop: {' -> '.join(loop)}; a provider must not fall back, in the end, on itself",
                [PreconditionViolation("FALLBACK_LOOP", FALLBACKS_FIELD, " -> ".join(loop))],
            )

    async def list_providers(self, account_id: str, page_size: int, page_token: str) -> tuple[list[ProviderView], str]:
        require(domain.identity_violations(account_id, "", provider_required=False))
        size = min(page_size or 50, 500)
        views = await self.read_model.list(account_id, size, page_token)
        return views, (views[-1].provider_id if len(views) == size else "")

    async def delete_provider(self, account_id: str, provider_id: str, version: int) -> None:
        require(domain.identity_violations(account_id, provider_id, provider_required=True))
        current = await self._current(account_id, provider_id)
        if current.view is None:
            raise NotFound(f"provider {provider_id} not found")
        if version and version != current.view.version:
            raise Conflict(_stale(current.view.version))
        event = new_event(
            events_pb2.ProviderDeleted(provider_id=provider_id),
            account_id=account_id,
            aggregate_type="provider",
            aggregate_id=provider_id,
        )
        appended = await self.store.append_durably(
            event, expected_sequence=current.last_seq, patience=self.settings.append_patience
        )
        await self.runner.wait_for(appended.stream_seq, READ_YOUR_WRITES_SECONDS)

    async def verify_saved(self, account_id: str, provider_id: str) -> list[Check]:
        require(domain.identity_violations(account_id, provider_id, provider_required=True))
        current = await self._current(account_id, provider_id)
        if current.view is None:
            raise NotFound(f"provider {provider_id} not found")
        view = current.view
        settings = ProviderInput(
            name=view.name,
            smtp_host=view.smtp_host,
            smtp_port=view.smtp_port,
            smtp_username=view.smtp_username,
            smtp_password="",
            from_address=view.from_address,
            from_name=view.from_name,
            region=view.region,
            ses_access_key_id=view.ses_access_key_id,
            max_send_rate=view.max_send_rate,
            max_connections=view.max_connections,
            sns_topic_arns=view.sns_topic_arns,
            ses_configuration_set=view.ses_configuration_set,
            ses_tenant=view.ses_tenant,
            fallback_provider_ids=view.fallback_provider_ids,
        )
        return await self.verify_settings(self._with_stored_secrets(settings, current, account_id, provider_id))

    async def verify_settings(self, settings: ProviderInput) -> list[Check]:
        """Every check, each with its outcome; a failed syntax check skips the live ones it would break."""
        allow = self.settings.allow_custom_smtp_host
        host_problem = domain.host_problem(settings.smtp_host, allow)
        port_problem = domain.port_problem(settings.smtp_port)
        from_problem = domain.address_problem(settings.from_address)
        checks = [
            _syntax_check("host", host_problem, settings.smtp_host),
            _syntax_check("port", port_problem, str(settings.smtp_port)),
            _syntax_check("from_address", from_problem, settings.from_address),
        ]
        if host_problem or port_problem:
            return checks + [Check("smtp_login", False, "not tried: fix the host and port first", skipped=True)]
        return checks + await self._live_checks(domain.with_defaults(settings))

    async def _live_checks(self, settings: ProviderInput) -> list[Check]:
        smtp = verification.check_smtp_login(
            verification.SmtpTarget(
                settings.smtp_host, settings.smtp_port, settings.smtp_username, settings.smtp_password
            ),
            timeout=self.settings.smtp_timeout,
            ca_file=self.settings.smtp_ca_file,
        )
        if not settings.ses_access_key_id:
            login = await smtp
            return [login, Check("ses_account", True, "not checked: no SES API credentials given", skipped=True)]
        target = self._ses_target(settings)
        ses = verification.check_ses_account(target, settings.from_address)
        names = verification.check_ses_names(target, settings.ses_configuration_set, settings.ses_tenant)
        login, ses_checks, name_checks = await asyncio.gather(smtp, ses, names)
        return [login, *ses_checks, *name_checks]

    def _ses_target(self, settings: ProviderInput) -> verification.SesApiTarget:
        return verification.SesApiTarget(
            settings.region, settings.ses_access_key_id, settings.ses_secret_access_key, self.settings.ses_endpoint_url
        )

    async def _current(self, account_id: str, provider_id: str) -> CurrentProvider:
        last = await self.store.patiently(
            lambda: self.store.last_event("provider", provider_id), self.settings.append_patience
        )
        if last is None:
            return CurrentProvider(None, NEW_AGGREGATE)
        if last.event.account_id != account_id:
            raise NotFound(f"provider {provider_id} not found")
        await self.runner.catch_up_to(last.stream_seq)
        view = await self.read_model.get(account_id, provider_id)
        if view is None:
            return CurrentProvider(None, last.stream_seq)
        password, secret = await sealed_secrets(self.runner.engine, account_id, provider_id)
        return CurrentProvider(view, last.stream_seq, password, secret)

    def _with_stored_secrets(
        self, settings: ProviderInput, current: CurrentProvider, account_id: str, provider_id: str
    ) -> ProviderInput:
        password = settings.smtp_password
        if not password and current.smtp_password_sealed:
            password = self.box.open(
                current.smtp_password_sealed, provider_secret_aad(account_id, provider_id, "smtp_password")
            )
        secret = settings.ses_secret_access_key
        if not secret and current.ses_secret_sealed:
            secret = self.box.open(
                current.ses_secret_sealed, provider_secret_aad(account_id, provider_id, "ses_secret")
            )
        return replace(settings, smtp_password=password, ses_secret_access_key=secret)

    def _saved_event(self, account_id: str, provider_id: str, settings: ProviderInput) -> events_pb2.ProviderSaved:
        secret = settings.ses_secret_access_key
        return events_pb2.ProviderSaved(
            provider_id=provider_id,
            name=settings.name,
            type="SES",
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_username=settings.smtp_username,
            smtp_password_sealed=self.box.seal(
                settings.smtp_password, provider_secret_aad(account_id, provider_id, "smtp_password")
            ),
            from_address=settings.from_address,
            from_name=settings.from_name,
            region=settings.region,
            ses_access_key_id=settings.ses_access_key_id,
            ses_secret_access_key_sealed=self.box.seal(
                secret, provider_secret_aad(account_id, provider_id, "ses_secret")
            )
            if secret
            else b"",
            max_send_rate=settings.max_send_rate,
            max_connections=settings.max_connections,
            sns_topic_arns=list(settings.sns_topic_arns),
            allow_first_sns_topic=settings.allow_first_sns_topic,
            max_message_bytes=domain.DEFAULT_MAX_MESSAGE_BYTES,
            max_messages_per_connection=domain.DEFAULT_MESSAGES_PER_CONNECTION,
            ses_configuration_set=settings.ses_configuration_set,
            ses_tenant=settings.ses_tenant,
            fallback_provider_ids=list(settings.fallback_provider_ids),
        )


def _check_version(current: CurrentProvider, version: int) -> None:
    if version == 0 and current.view is not None:
        raise Conflict(f"provider already exists at version {current.view.version}: pass that version to update it")
    if version != 0 and current.view is None:
        raise NotFound("provider not found: save it with version 0 to create it")
    if version != 0 and current.view is not None and version != current.view.version:
        raise Conflict(_stale(current.view.version))


def _stale(current_version: int) -> str:
    return f"stale version: the provider was changed meanwhile (now version {current_version}); read it again"


def _syntax_check(name: str, problem: str | None, value: str) -> Check:
    if problem:
        return Check(name, False, f"{name} {problem}")
    return Check(name, True, f"{value} is valid")


def _refuse_failed(checks: list[Check]) -> None:
    failed = [c for c in checks if not c.passed and not c.skipped]
    if failed:
        raise FailedPrecondition(
            _sentence(failed[0]),
            [PreconditionViolation(type=c.name.upper(), subject=c.name, description=_sentence(c)) for c in failed],
        )


def _sentence(check: Check) -> str:
    return f"{check.message.rstrip('.')}. {check.hint}".strip()
