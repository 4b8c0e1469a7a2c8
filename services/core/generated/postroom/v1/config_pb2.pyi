from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProviderSettings(_message.Message):
    __slots__ = ("name", "smtp_host", "smtp_port", "smtp_username", "smtp_password", "from_address", "from_name", "region", "ses_access_key_id", "ses_secret_access_key", "max_send_rate", "max_connections", "sns_topic_arns", "allow_first_sns_topic", "fallback_provider_ids", "ses_configuration_set", "ses_tenant")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SMTP_HOST_FIELD_NUMBER: _ClassVar[int]
    SMTP_PORT_FIELD_NUMBER: _ClassVar[int]
    SMTP_USERNAME_FIELD_NUMBER: _ClassVar[int]
    SMTP_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SES_ACCESS_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SES_SECRET_ACCESS_KEY_FIELD_NUMBER: _ClassVar[int]
    MAX_SEND_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    SNS_TOPIC_ARNS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_FIRST_SNS_TOPIC_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_PROVIDER_IDS_FIELD_NUMBER: _ClassVar[int]
    SES_CONFIGURATION_SET_FIELD_NUMBER: _ClassVar[int]
    SES_TENANT_FIELD_NUMBER: _ClassVar[int]
    name: str
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str
    from_address: str
    from_name: str
    region: str
    ses_access_key_id: str
    ses_secret_access_key: str
    max_send_rate: float
    max_connections: int
    sns_topic_arns: _containers.RepeatedScalarFieldContainer[str]
    allow_first_sns_topic: bool
    fallback_provider_ids: _containers.RepeatedScalarFieldContainer[str]
    ses_configuration_set: str
    ses_tenant: str
    def __init__(self, name: _Optional[str] = ..., smtp_host: _Optional[str] = ..., smtp_port: _Optional[int] = ..., smtp_username: _Optional[str] = ..., smtp_password: _Optional[str] = ..., from_address: _Optional[str] = ..., from_name: _Optional[str] = ..., region: _Optional[str] = ..., ses_access_key_id: _Optional[str] = ..., ses_secret_access_key: _Optional[str] = ..., max_send_rate: _Optional[float] = ..., max_connections: _Optional[int] = ..., sns_topic_arns: _Optional[_Iterable[str]] = ..., allow_first_sns_topic: _Optional[bool] = ..., fallback_provider_ids: _Optional[_Iterable[str]] = ..., ses_configuration_set: _Optional[str] = ..., ses_tenant: _Optional[str] = ...) -> None: ...

class SaveProviderRequest(_message.Message):
    __slots__ = ("account_id", "provider_id", "version", "settings", "skip_verification")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    SKIP_VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    provider_id: str
    version: int
    settings: ProviderSettings
    skip_verification: bool
    def __init__(self, account_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., version: _Optional[int] = ..., settings: _Optional[_Union[ProviderSettings, _Mapping]] = ..., skip_verification: _Optional[bool] = ...) -> None: ...

class SaveProviderResponse(_message.Message):
    __slots__ = ("provider", "checks")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    provider: Provider
    checks: _containers.RepeatedCompositeFieldContainer[VerificationCheck]
    def __init__(self, provider: _Optional[_Union[Provider, _Mapping]] = ..., checks: _Optional[_Iterable[_Union[VerificationCheck, _Mapping]]] = ...) -> None: ...

class Provider(_message.Message):
    __slots__ = ("account_id", "provider_id", "name", "type", "smtp_host", "smtp_port", "smtp_username", "has_smtp_password", "from_address", "from_name", "region", "ses_access_key_id", "has_ses_secret_access_key", "max_send_rate", "max_connections", "sns_topic_arns", "allow_first_sns_topic", "version", "callback_url", "tls_mode", "fallback_provider_ids", "ses_account", "ses_configuration_set", "ses_tenant", "ses_tenant_standing")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SMTP_HOST_FIELD_NUMBER: _ClassVar[int]
    SMTP_PORT_FIELD_NUMBER: _ClassVar[int]
    SMTP_USERNAME_FIELD_NUMBER: _ClassVar[int]
    HAS_SMTP_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SES_ACCESS_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    HAS_SES_SECRET_ACCESS_KEY_FIELD_NUMBER: _ClassVar[int]
    MAX_SEND_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    SNS_TOPIC_ARNS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_FIRST_SNS_TOPIC_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    TLS_MODE_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_PROVIDER_IDS_FIELD_NUMBER: _ClassVar[int]
    SES_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    SES_CONFIGURATION_SET_FIELD_NUMBER: _ClassVar[int]
    SES_TENANT_FIELD_NUMBER: _ClassVar[int]
    SES_TENANT_STANDING_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    provider_id: str
    name: str
    type: str
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
    sns_topic_arns: _containers.RepeatedScalarFieldContainer[str]
    allow_first_sns_topic: bool
    version: int
    callback_url: str
    tls_mode: str
    fallback_provider_ids: _containers.RepeatedScalarFieldContainer[str]
    ses_account: SesAccountStanding
    ses_configuration_set: str
    ses_tenant: str
    ses_tenant_standing: SesTenantStanding
    def __init__(self, account_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., smtp_host: _Optional[str] = ..., smtp_port: _Optional[int] = ..., smtp_username: _Optional[str] = ..., has_smtp_password: _Optional[bool] = ..., from_address: _Optional[str] = ..., from_name: _Optional[str] = ..., region: _Optional[str] = ..., ses_access_key_id: _Optional[str] = ..., has_ses_secret_access_key: _Optional[bool] = ..., max_send_rate: _Optional[float] = ..., max_connections: _Optional[int] = ..., sns_topic_arns: _Optional[_Iterable[str]] = ..., allow_first_sns_topic: _Optional[bool] = ..., version: _Optional[int] = ..., callback_url: _Optional[str] = ..., tls_mode: _Optional[str] = ..., fallback_provider_ids: _Optional[_Iterable[str]] = ..., ses_account: _Optional[_Union[SesAccountStanding, _Mapping]] = ..., ses_configuration_set: _Optional[str] = ..., ses_tenant: _Optional[str] = ..., ses_tenant_standing: _Optional[_Union[SesTenantStanding, _Mapping]] = ...) -> None: ...

class GetProviderRequest(_message.Message):
    __slots__ = ("account_id", "provider_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    provider_id: str
    def __init__(self, account_id: _Optional[str] = ..., provider_id: _Optional[str] = ...) -> None: ...

class ListProvidersRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListProvidersResponse(_message.Message):
    __slots__ = ("providers", "next_page_token")
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    providers: _containers.RepeatedCompositeFieldContainer[Provider]
    next_page_token: str
    def __init__(self, providers: _Optional[_Iterable[_Union[Provider, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteProviderRequest(_message.Message):
    __slots__ = ("account_id", "provider_id", "version")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    provider_id: str
    version: int
    def __init__(self, account_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class DeleteProviderResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyProviderRequest(_message.Message):
    __slots__ = ("account_id", "provider_id", "settings")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    provider_id: str
    settings: ProviderSettings
    def __init__(self, account_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., settings: _Optional[_Union[ProviderSettings, _Mapping]] = ...) -> None: ...

class VerificationCheck(_message.Message):
    __slots__ = ("name", "passed", "message", "hint", "skipped")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    name: str
    passed: bool
    message: str
    hint: str
    skipped: bool
    def __init__(self, name: _Optional[str] = ..., passed: _Optional[bool] = ..., message: _Optional[str] = ..., hint: _Optional[str] = ..., skipped: _Optional[bool] = ...) -> None: ...

class VerifyProviderResponse(_message.Message):
    __slots__ = ("ok", "checks")
    OK_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    checks: _containers.RepeatedCompositeFieldContainer[VerificationCheck]
    def __init__(self, ok: _Optional[bool] = ..., checks: _Optional[_Iterable[_Union[VerificationCheck, _Mapping]]] = ...) -> None: ...

class SesAccountStanding(_message.Message):
    __slots__ = ("observed", "enforcement_status", "sending_enabled", "max_send_rate", "max_24_hour_send", "sending_paused")
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    SENDING_ENABLED_FIELD_NUMBER: _ClassVar[int]
    MAX_SEND_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_24_HOUR_SEND_FIELD_NUMBER: _ClassVar[int]
    SENDING_PAUSED_FIELD_NUMBER: _ClassVar[int]
    observed: bool
    enforcement_status: str
    sending_enabled: bool
    max_send_rate: float
    max_24_hour_send: float
    sending_paused: bool
    def __init__(self, observed: _Optional[bool] = ..., enforcement_status: _Optional[str] = ..., sending_enabled: _Optional[bool] = ..., max_send_rate: _Optional[float] = ..., max_24_hour_send: _Optional[float] = ..., sending_paused: _Optional[bool] = ...) -> None: ...

class SesTenantStanding(_message.Message):
    __slots__ = ("observed", "tenant_name", "sending_status", "sending_paused")
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    TENANT_NAME_FIELD_NUMBER: _ClassVar[int]
    SENDING_STATUS_FIELD_NUMBER: _ClassVar[int]
    SENDING_PAUSED_FIELD_NUMBER: _ClassVar[int]
    observed: bool
    tenant_name: str
    sending_status: str
    sending_paused: bool
    def __init__(self, observed: _Optional[bool] = ..., tenant_name: _Optional[str] = ..., sending_status: _Optional[str] = ..., sending_paused: _Optional[bool] = ...) -> None: ...
