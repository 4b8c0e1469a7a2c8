"""Provider rules: what a valid Amazon SES provider is, and what each check failure means (pure)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from services.core.email_address import address_problem, text_problem
from services.core.errors import FieldViolation
from services.core.ids import IDENTIFIER_RULE, is_identifier
from services.core.ses_message import MAX_MESSAGE_BYTES
from services.core.ses_standing import account_sending_paused, tenant_sending_paused

DEFAULT_MAX_SEND_RATE = 14.0  # SES's usual starting production rate, messages per second
DEFAULT_MAX_CONNECTIONS = 10
DEFAULT_MAX_MESSAGE_BYTES = MAX_MESSAGE_BYTES  # the provider's default: all SES takes
DEFAULT_MESSAGES_PER_CONNECTION = 50
STARTTLS_PORTS = frozenset({25, 587, 2587})
TLS_PORTS = frozenset({465, 2465})
MAX_TOPICS = 20
MAX_FALLBACKS = 5

_SES_HOST = re.compile(r"^email-smtp(-fips)?\.(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d)\.amazonaws\.com$")
_SES_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ACCESS_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")
_TOPIC_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:sns:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$")

INVALID_CREDENTIALS = "Invalid Credentials: these must be your SES SMTP credentials, not your AWS access keys"
INVALID_CREDENTIALS_HINT = (
    "Create SMTP credentials in the Amazon SES console (SMTP settings > Create SMTP "
    "credentials) and paste that username and password."
)
SANDBOX = "Invalid Credentials: the SES account is in the sandbox; request production access"
SANDBOX_HINT = (
    "In the Amazon SES console open Account dashboard > Request production access; "
    "a sandboxed account can only send to verified addresses."
)
UNVERIFIED_FROM = "From Address is not a verified identity in Amazon SES"
UNVERIFIED_FROM_HINT = (
    "Use an address listed under Amazon SES > Verified identities, or verify the address or its domain there first."
)
UNREACHABLE = "Dispatch Failed: the provider could not be reached"
UNREACHABLE_HINT = (
    "Check the Server Name and Port from Amazon SES > SMTP settings, and that outbound "
    "connections to that port are allowed; if they are, SES may be briefly unavailable."
)


@dataclass(frozen=True)
class ProviderInput:
    """What a caller asks to save; secrets in plain text only on their way to the secret box."""

    name: str
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str
    from_address: str
    from_name: str = ""
    region: str = ""
    ses_access_key_id: str = ""
    ses_secret_access_key: str = ""
    max_send_rate: float = 0.0
    max_connections: int = 0
    sns_topic_arns: tuple[str, ...] = ()
    allow_first_sns_topic: bool = False
    ses_configuration_set: str = ""
    ses_tenant: str = ""
    fallback_provider_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    message: str
    hint: str = ""
    skipped: bool = False


@dataclass(frozen=True)
class ProviderView:
    """A provider as callers read it: never a secret, only whether one is set."""

    account_id: str
    provider_id: str
    name: str
    smtp_host: str
    smtp_port: int
    smtp_username: str
    has_smtp_password: bool
    from_address: str
    from_name: str
    region: str
    ses_access_key_id: str
    has_ses_secret_access_key: bool
    max_send_rate: float
    max_connections: int
    sns_topic_arns: tuple[str, ...]
    allow_first_sns_topic: bool
    version: int
    type: str = "SES"
    extra: dict = field(default_factory=dict)
    ses_configuration_set: str = ""
    ses_tenant: str = ""
    fallback_provider_ids: tuple[str, ...] = ()
    ses_account: "SesStanding | None" = None  # SES's own view of the account, when observed
    ses_tenant_standing: "SesTenantStanding | None" = None  # ...and of the tenant, when observed

    @property
    def tls_mode(self) -> str:
        return tls_mode(self.smtp_port)


def tls_mode(port: int) -> str:
    return "TLS" if port in TLS_PORTS else "STARTTLS"


def callback_url(public_url: str, account_id: str, provider_id: str) -> str:
    return f"{public_url.rstrip('/')}/sns/{account_id}/{provider_id}"


def region_of_host(host: str) -> str:
    match = _SES_HOST.fullmatch(host)
    return match.group("region") if match else ""


def identity_violations(account_id: str, provider_id: str, *, provider_required: bool) -> list[FieldViolation]:
    violations = []
    if not is_identifier(account_id):
        violations.append(FieldViolation("account_id", IDENTIFIER_RULE))
    if provider_required and not provider_id:
        violations.append(FieldViolation("provider_id", "is required"))
    elif provider_id and not is_identifier(provider_id):
        violations.append(FieldViolation("provider_id", IDENTIFIER_RULE))
    return violations


def settings_violations(
    settings: ProviderInput, *, password_stored: bool, secret_key_stored: bool, allow_custom_host: bool
) -> list[FieldViolation]:
    """Every problem with the settings at once, each naming its field (the page's form fields)."""
    checks = [
        ("settings.name", text_problem(settings.name, max_length=100, required=True)),
        ("settings.smtp_host", host_problem(settings.smtp_host, allow_custom_host)),
        ("settings.smtp_port", port_problem(settings.smtp_port)),
        ("settings.smtp_username", _username_problem(settings.smtp_username)),
        ("settings.smtp_password", _password_problem(settings.smtp_password, password_stored)),
        ("settings.from_address", address_problem(settings.from_address)),
        ("settings.from_name", text_problem(settings.from_name, max_length=100)),
        ("settings.region", _region_problem(settings)),
        ("settings.ses_access_key_id", _access_key_problem(settings.ses_access_key_id)),
        ("settings.ses_secret_access_key", _secret_key_problem(settings, secret_key_stored)),
        ("settings.max_send_rate", _rate_problem(settings.max_send_rate)),
        ("settings.max_connections", _connections_problem(settings.max_connections)),
    ]
    checks += [
        (f"settings.{name}", _ses_name_problem(value, settings.ses_access_key_id))
        for name, value in (
            ("ses_configuration_set", settings.ses_configuration_set),
            ("ses_tenant", settings.ses_tenant),
        )
    ]
    violations = [FieldViolation(name, problem) for name, problem in checks if problem]
    violations += _topic_violations(settings.sns_topic_arns)
    violations += _fallback_violations(settings.fallback_provider_ids)
    return violations


def _ses_name_problem(name: str, ses_access_key_id: str) -> str | None:
    """SES names configuration sets and tenants alike: 1 to 64 letters, digits, '-' and '_'."""
    if not name:
        return None
    if not _SES_NAME.fullmatch(name):
        return "must be 1 to 64 letters, digits, hyphens (-) or underscores (_), as SES names it"
    if not ses_access_key_id:
        return "needs the SES API keys (settings.ses_access_key_id) so Postroom can check it exists in SES"
    return None


FALLBACKS_FIELD = "settings.fallback_provider_ids"


def _fallback_violations(fallbacks: tuple[str, ...]) -> list[FieldViolation]:
    if len(fallbacks) > MAX_FALLBACKS:
        return [FieldViolation(FALLBACKS_FIELD, f"at most {MAX_FALLBACKS} fallback providers")]
    violations = [
        FieldViolation(f"{FALLBACKS_FIELD}[{i}]", IDENTIFIER_RULE)
        for i, fallback in enumerate(fallbacks)
        if not is_identifier(fallback)
    ]
    violations += [
        FieldViolation(f"{FALLBACKS_FIELD}[{i}]", f"names {fallback} twice")
        for i, fallback in enumerate(fallbacks)
        if fallback in fallbacks[:i]
    ]
    return violations


def fallback_loop(provider_id: str, fallbacks: tuple[str, ...], saved: dict[str, tuple[str, ...]]) -> list[str] | None:
    """The providers of a loop these fallbacks would close (each falling back, in the end, on
    `provider_id` itself), or None. `saved` holds every other provider's saved fallbacks."""
    graph = {**saved, provider_id: fallbacks}
    path: list[str] = [provider_id]

    def walk(node: str, seen: frozenset[str]) -> list[str] | None:
        for nxt in graph.get(node, ()):
            if nxt == provider_id:
                return [*path, provider_id]
            if nxt not in seen:
                path.append(nxt)
                found = walk(nxt, seen | {nxt})
                if found:
                    return found
                path.pop()
        return None

    return walk(provider_id, frozenset({provider_id}))


def host_problem(host: str, allow_custom_host: bool) -> str | None:
    if not host:
        return "is required: copy the Server Name from Amazon SES > SMTP settings"
    if _SES_HOST.fullmatch(host):
        return None
    if allow_custom_host and _HOSTNAME.fullmatch(host):
        return None
    return "must be the Amazon SES SMTP endpoint email-smtp.<region>.amazonaws.com (see Amazon SES > SMTP settings)"


def port_problem(port: int) -> str | None:
    if port in STARTTLS_PORTS or port in TLS_PORTS:
        return None
    return "must be 25, 587 or 2587 (STARTTLS) or 465 or 2465 (TLS)"


def _username_problem(username: str) -> str | None:
    problem = text_problem(username, max_length=128, required=True)
    if problem is None and any(ch.isspace() for ch in username):
        return "must not contain spaces"
    return problem


def _password_problem(password: str, stored: bool) -> str | None:
    if not password:
        return None if stored else "is required"
    return text_problem(password, max_length=128)


def _region_problem(settings: ProviderInput) -> str | None:
    if not settings.region:
        if settings.ses_access_key_id and not region_of_host(settings.smtp_host):
            return "is required for the SES API when the SMTP host does not name it"
        return None
    if not _REGION.fullmatch(settings.region):
        return "must be an AWS region such as us-east-1"
    host_region = region_of_host(settings.smtp_host)
    if host_region and host_region != settings.region:
        return f"must match the SMTP host's region ({host_region})"
    return None


def _access_key_problem(key_id: str) -> str | None:
    if key_id and not _ACCESS_KEY_ID.fullmatch(key_id):
        return "must be an AWS access key id (upper-case letters and digits)"
    return None


def _secret_key_problem(settings: ProviderInput, stored: bool) -> str | None:
    if settings.ses_access_key_id and not settings.ses_secret_access_key and not stored:
        return "is required when ses_access_key_id is set"
    if settings.ses_secret_access_key and not settings.ses_access_key_id:
        return "needs ses_access_key_id"
    return text_problem(settings.ses_secret_access_key, max_length=128)


def _rate_problem(rate: float) -> str | None:
    if math.isnan(rate) or math.isinf(rate) or rate < 0 or rate > 10_000:
        return "must be between 0 (default 14) and 10000 messages per second"
    return None


def _connections_problem(connections: int) -> str | None:
    return None if 0 <= connections <= 100 else "must be between 0 (default 10) and 100"


def _topic_violations(arns: tuple[str, ...]) -> list[FieldViolation]:
    if len(arns) > MAX_TOPICS:
        return [FieldViolation("settings.sns_topic_arns", f"at most {MAX_TOPICS} topics")]
    return [
        FieldViolation(
            f"settings.sns_topic_arns[{i}]", "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"
        )
        for i, arn in enumerate(arns)
        if not _TOPIC_ARN.fullmatch(arn)
    ]


def with_defaults(settings: ProviderInput) -> ProviderInput:
    return replace(
        settings,
        region=settings.region or region_of_host(settings.smtp_host),
        max_send_rate=settings.max_send_rate or DEFAULT_MAX_SEND_RATE,
        max_connections=settings.max_connections or DEFAULT_MAX_CONNECTIONS,
    )


@dataclass(frozen=True)
class SesAccountState:
    """What SES's GetAccount says of the account behind a provider's SES API keys."""

    region: str
    max_send_rate: float
    max_24_hour_send: float
    sent_last_24_hours: float
    enforcement_status: str = ""  # HEALTHY, PROBATION, SHUTDOWN ("" when SES v1 answered)
    sending_enabled: bool = True
    production_access_enabled: bool = True

    def changed_since(self, last) -> bool:
        """Whether a new SesAccountObserved is due: anything but the running count of sends differs."""
        if last is None:
            return True
        return (
            last.region,
            last.max_send_rate,
            last.max_24_hour_send,
            last.enforcement_status,
            last.sending_enabled,
            last.production_access_enabled,
        ) != (
            self.region,
            self.max_send_rate,
            self.max_24_hour_send,
            self.enforcement_status,
            self.sending_enabled,
            self.production_access_enabled,
        )


@dataclass(frozen=True)
class SesStanding:
    """SES's last GetAccount answer for a provider, as GetProvider shows it."""

    enforcement_status: str
    sending_enabled: bool
    max_send_rate: float
    max_24_hour_send: float

    @property
    def sending_paused(self) -> bool:
        """SES refuses the account's mail: shut down, or sending switched off."""
        return account_sending_paused(self.enforcement_status, self.sending_enabled)


@dataclass(frozen=True)
class SesTenantStanding:
    """SES's last GetTenant answer for a provider's tenant, as GetProvider shows it."""

    tenant_name: str
    sending_status: str

    @property
    def sending_paused(self) -> bool:
        return tenant_sending_paused(self.sending_status)


def credentials_hint(password: str) -> str:
    # AWS secret access keys are 40 characters; SES SMTP passwords (derived from them) are 44.
    if len(password) == 40:
        return INVALID_CREDENTIALS_HINT + " The password has 40 characters, like an AWS secret access key."
    return INVALID_CREDENTIALS_HINT
