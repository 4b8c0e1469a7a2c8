"""Live provider checks: a real SMTP login, and the SES account API through botocore."""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone

import aiosmtplib
from botocore.exceptions import BotoCoreError, ClientError

from services.config import domain
from services.config.domain import Check, SesAccountState
from services.config.ses_api_clients import SesApiClients, SesApiTarget
from services.core.email_address import domain_of
from services.core.tls import client_context

log = logging.getLogger(__name__)

_REJECTED_KEYS = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AccessDeniedException",
    "AccessDenied",
    "InvalidAccessKeyId",
}
_SANDBOX_DAILY_QUOTA = 200  # a sandboxed SES account may send 200 messages per 24 hours


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str
    password: str


async def check_smtp_login(target: SmtpTarget, *, timeout: float, ca_file: str = "") -> Check:
    """Connect, secure the connection as the port says, and log in, like the dispatcher will."""
    implicit_tls = target.port in domain.TLS_PORTS
    client = aiosmtplib.SMTP(
        hostname=target.host,
        port=target.port,
        timeout=timeout,
        use_tls=implicit_tls,
        start_tls=not implicit_tls,
        tls_context=client_context(ca_file),
    )
    try:
        await client.connect()
        await client.login(target.username, target.password)
    except aiosmtplib.SMTPAuthenticationError as error:
        return Check(
            "smtp_login",
            False,
            f"{domain.INVALID_CREDENTIALS} (server said {error.code} {error.message})",
            domain.credentials_hint(target.password),
        )
    except (TimeoutError, aiosmtplib.SMTPException, OSError, ssl.SSLError) as error:
        return Check("smtp_login", False, f"{domain.UNREACHABLE}: {_describe(error)}", domain.UNREACHABLE_HINT)
    finally:
        await _close(client)
    return Check("smtp_login", True, f"logged in to {target.host}:{target.port}")


def _describe(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError):
        return f"TLS failed ({error.reason or error})"
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__


async def _close(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        try:
            await client.quit()
        except Exception:
            client.close()


async def check_ses_account(target: SesApiTarget, from_address: str) -> list[Check]:
    return await asyncio.to_thread(_check_ses_account, target, from_address)


async def read_ses_account(target: SesApiTarget) -> SesAccountState:
    """SES's own limits and standing for the account (GetAccount; SES v1's GetSendQuota where there
    is no SESv2). Raises botocore's errors: the caller decides what a failed read means."""
    return await asyncio.to_thread(_read_ses_account, target)


def _read_ses_account(target: SesApiTarget) -> SesAccountState:
    clients = SesApiClients(target)
    try:
        account = clients.v2.get_account()
    except ClientError as error:
        if _code(error) in _REJECTED_KEYS:
            raise
        quota = clients.v1.get_send_quota()
        return SesAccountState(
            target.region,
            float(quota.get("MaxSendRate", 0)),
            float(quota.get("Max24HourSend", 0)),
            float(quota.get("SentLast24Hours", 0)),
        )
    quota = account.get("SendQuota", {})
    return SesAccountState(
        target.region,
        float(quota.get("MaxSendRate", 0)),
        float(quota.get("Max24HourSend", 0)),
        float(quota.get("SentLast24Hours", 0)),
        str(account.get("EnforcementStatus", "")),
        bool(account.get("SendingEnabled", True)),
        bool(account.get("ProductionAccessEnabled", True)),
    )


def _check_ses_account(target: SesApiTarget, from_address: str) -> list[Check]:
    clients = SesApiClients(target)
    try:
        return [_identity_check(clients, from_address), _sandbox_check(clients)]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        reason = "the SES API keys were rejected" if code in _REJECTED_KEYS else f"the SES API answered {code}"
        failure = Check(
            "ses_api",
            False,
            f"Invalid Credentials: {reason}",
            "Give an IAM access key allowed ses:GetAccount and ses:GetEmailIdentity.",
        )
        return [failure]
    except BotoCoreError as error:
        return [Check("ses_api", False, f"{domain.UNREACHABLE}: the SES API ({error})", domain.UNREACHABLE_HINT)]
    except Exception as error:  # an answer botocore cannot parse: report it, never fail the call
        log.warning("SES API answer not understood", extra={"error": type(error).__name__}, exc_info=True)
        return [
            Check(
                "ses_api",
                False,
                f"{domain.UNREACHABLE}: the SES API answered something unexpected",
                domain.UNREACHABLE_HINT,
            )
        ]


async def check_ses_names(target: SesApiTarget, configuration_set: str, tenant: str) -> list[Check]:
    """That the configuration set and tenant a provider names exist in SES (GetConfigurationSet, GetTenant)."""
    if not (configuration_set or tenant):
        return []
    return await asyncio.to_thread(_check_ses_names, target, configuration_set, tenant)


def _check_ses_names(target: SesApiTarget, configuration_set: str, tenant: str) -> list[Check]:
    v2 = SesApiClients(target).v2
    lookups = [
        (
            "ses_configuration_set",
            "configuration set",
            configuration_set,
            lambda: v2.get_configuration_set(ConfigurationSetName=configuration_set),
        ),
        ("ses_tenant", "tenant", tenant, lambda: v2.get_tenant(TenantName=tenant)),
    ]
    return [_name_check(name, kind, value, lookup) for name, kind, value, lookup in lookups if value]


def _name_check(name: str, kind: str, value: str, lookup) -> Check:
    field_name = f"settings.{name}"
    try:
        lookup()
    except ClientError as error:
        if _code(error) in ("NotFoundException", "404"):
            return Check(
                name,
                False,
                f"{field_name}: SES has no {kind} named {value!r} in this region",
                f"Create it in Amazon SES, or correct {field_name}.",
            )
        return Check(
            name,
            False,
            f"{field_name}: SES answered {_code(error)} when asked for the {kind}",
            "Give the IAM key ses:GetConfigurationSet and ses:GetTenant.",
        )
    except BotoCoreError as error:
        return Check(
            name, False, f"{domain.UNREACHABLE}: the SES API ({type(error).__name__})", domain.UNREACHABLE_HINT
        )
    return Check(name, True, f"SES has the {kind} {value!r}")


def _identity_check(clients: SesApiClients, from_address: str) -> Check:
    for identity in (from_address, domain_of(from_address)):
        verified = _identity_verified(clients, identity)
        if verified:
            return Check("ses_identity", True, f"{identity} is a verified identity")
    return Check("ses_identity", False, f"{domain.UNVERIFIED_FROM}: {from_address}", domain.UNVERIFIED_FROM_HINT)


def _identity_verified(clients: SesApiClients, identity: str) -> bool:
    try:
        answer = clients.v2.get_email_identity(EmailIdentity=identity)
        return bool(answer.get("VerifiedForSendingStatus")) or answer.get("VerificationStatus") == "SUCCESS"
    except ClientError as error:
        if _code(error) in ("NotFoundException", "404"):
            return False
        if _code(error) in _REJECTED_KEYS:
            raise
    except Exception:
        pass  # no usable SESv2 endpoint (an SES stand-in, an old region): ask SES v1
    attributes = clients.v1.get_identity_verification_attributes(Identities=[identity])["VerificationAttributes"]
    return attributes.get(identity, {}).get("VerificationStatus") == "Success"


def _sandbox_check(clients: SesApiClients) -> Check:
    try:
        production = bool(clients.v2.get_account().get("ProductionAccessEnabled"))
    except Exception as error:
        if isinstance(error, ClientError) and _code(error) in _REJECTED_KEYS:
            raise
        # SES v1 has no sandbox flag; a 200-a-day quota is the sandbox's.
        production = float(clients.v1.get_send_quota().get("Max24HourSend", 0)) > _SANDBOX_DAILY_QUOTA
    if production:
        return Check("ses_sandbox", True, "the SES account has production access")
    return Check("ses_sandbox", False, domain.SANDBOX, domain.SANDBOX_HINT)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class SesListedAddress:
    """One entry of SES's account-level suppression list."""

    email_address: str
    reason: str  # BOUNCE or COMPLAINT
    last_update_time: datetime


async def list_ses_suppressions(target: SesApiTarget) -> list[SesListedAddress]:
    """The whole account-level list, every page (ListSuppressedDestinations). Raises botocore's errors."""
    return await asyncio.to_thread(_list_ses_suppressions, target)


def _list_ses_suppressions(target: SesApiTarget) -> list[SesListedAddress]:
    v2 = SesApiClients(target).v2
    listed, token = [], None
    while True:
        page = v2.list_suppressed_destinations(PageSize=1000, **({"NextToken": token} if token else {}))
        listed += [
            SesListedAddress(entry["EmailAddress"], entry["Reason"], _utc(entry["LastUpdateTime"]))
            for entry in page.get("SuppressedDestinationSummaries", [])
        ]
        token = page.get("NextToken")
        if not token:
            return listed


async def delete_ses_suppression(target: SesApiTarget, email_address: str) -> bool:
    """Take an address off the account-level list; False when it was not on it. Raises botocore's errors."""
    return await asyncio.to_thread(_delete_ses_suppression, target, email_address)


def _delete_ses_suppression(target: SesApiTarget, email_address: str) -> bool:
    v2 = SesApiClients(target).v2
    try:
        v2.delete_suppressed_destination(EmailAddress=email_address)
    except ClientError as error:
        if _code(error) in ("NotFoundException", "404"):
            return False
        raise
    return True


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


async def read_ses_tenant_status(target: SesApiTarget, tenant: str) -> str:
    """The tenant's SendingStatus (GetTenant): ENABLED, REINSTATED or DISABLED. Raises botocore's errors."""
    return await asyncio.to_thread(
        lambda: str(SesApiClients(target).v2.get_tenant(TenantName=tenant).get("Tenant", {}).get("SendingStatus", ""))
    )
