import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Event(_message.Message):
    __slots__ = ("event_id", "type", "aggregate_id", "occurred_at", "correlation_id", "causation_id", "schema_version", "account_id", "aggregate_type", "trace_parent", "provider_saved", "provider_deleted", "provider_topic_allowed", "ses_account_observed", "provider_resumed", "email_queued", "email_dispatched", "dispatch_failed", "email_suppressed", "provider_paused", "dispatch_attempt_failed", "bounce_received", "complaint_received", "delivery_received", "sns_subscription_confirmed", "sns_unsubscribe_received", "unsubscribed", "resubscribed", "ses_suppression_imported", "ses_suppression_removed", "ses_suppression_removal_requested", "ses_tenant_observed")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TRACE_PARENT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_SAVED_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_DELETED_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_TOPIC_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    SES_ACCOUNT_OBSERVED_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_RESUMED_FIELD_NUMBER: _ClassVar[int]
    EMAIL_QUEUED_FIELD_NUMBER: _ClassVar[int]
    EMAIL_DISPATCHED_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_FAILED_FIELD_NUMBER: _ClassVar[int]
    EMAIL_SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_PAUSED_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ATTEMPT_FAILED_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    SNS_SUBSCRIPTION_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    SNS_UNSUBSCRIBE_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    RESUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    SES_SUPPRESSION_IMPORTED_FIELD_NUMBER: _ClassVar[int]
    SES_SUPPRESSION_REMOVED_FIELD_NUMBER: _ClassVar[int]
    SES_SUPPRESSION_REMOVAL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    SES_TENANT_OBSERVED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: str
    aggregate_id: str
    occurred_at: _timestamp_pb2.Timestamp
    correlation_id: str
    causation_id: str
    schema_version: int
    account_id: str
    aggregate_type: str
    trace_parent: str
    provider_saved: ProviderSaved
    provider_deleted: ProviderDeleted
    provider_topic_allowed: ProviderTopicAllowed
    ses_account_observed: SesAccountObserved
    provider_resumed: ProviderResumed
    email_queued: EmailQueued
    email_dispatched: EmailDispatched
    dispatch_failed: DispatchFailed
    email_suppressed: EmailSuppressed
    provider_paused: ProviderPaused
    dispatch_attempt_failed: DispatchAttemptFailed
    bounce_received: BounceReceived
    complaint_received: ComplaintReceived
    delivery_received: DeliveryReceived
    sns_subscription_confirmed: SnsSubscriptionConfirmed
    sns_unsubscribe_received: SnsUnsubscribeReceived
    unsubscribed: Unsubscribed
    resubscribed: Resubscribed
    ses_suppression_imported: SesSuppressionImported
    ses_suppression_removed: SesSuppressionRemoved
    ses_suppression_removal_requested: SesSuppressionRemovalRequested
    ses_tenant_observed: SesTenantObserved
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[str] = ..., aggregate_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., correlation_id: _Optional[str] = ..., causation_id: _Optional[str] = ..., schema_version: _Optional[int] = ..., account_id: _Optional[str] = ..., aggregate_type: _Optional[str] = ..., trace_parent: _Optional[str] = ..., provider_saved: _Optional[_Union[ProviderSaved, _Mapping]] = ..., provider_deleted: _Optional[_Union[ProviderDeleted, _Mapping]] = ..., provider_topic_allowed: _Optional[_Union[ProviderTopicAllowed, _Mapping]] = ..., ses_account_observed: _Optional[_Union[SesAccountObserved, _Mapping]] = ..., provider_resumed: _Optional[_Union[ProviderResumed, _Mapping]] = ..., email_queued: _Optional[_Union[EmailQueued, _Mapping]] = ..., email_dispatched: _Optional[_Union[EmailDispatched, _Mapping]] = ..., dispatch_failed: _Optional[_Union[DispatchFailed, _Mapping]] = ..., email_suppressed: _Optional[_Union[EmailSuppressed, _Mapping]] = ..., provider_paused: _Optional[_Union[ProviderPaused, _Mapping]] = ..., dispatch_attempt_failed: _Optional[_Union[DispatchAttemptFailed, _Mapping]] = ..., bounce_received: _Optional[_Union[BounceReceived, _Mapping]] = ..., complaint_received: _Optional[_Union[ComplaintReceived, _Mapping]] = ..., delivery_received: _Optional[_Union[DeliveryReceived, _Mapping]] = ..., sns_subscription_confirmed: _Optional[_Union[SnsSubscriptionConfirmed, _Mapping]] = ..., sns_unsubscribe_received: _Optional[_Union[SnsUnsubscribeReceived, _Mapping]] = ..., unsubscribed: _Optional[_Union[Unsubscribed, _Mapping]] = ..., resubscribed: _Optional[_Union[Resubscribed, _Mapping]] = ..., ses_suppression_imported: _Optional[_Union[SesSuppressionImported, _Mapping]] = ..., ses_suppression_removed: _Optional[_Union[SesSuppressionRemoved, _Mapping]] = ..., ses_suppression_removal_requested: _Optional[_Union[SesSuppressionRemovalRequested, _Mapping]] = ..., ses_tenant_observed: _Optional[_Union[SesTenantObserved, _Mapping]] = ...) -> None: ...

class ProviderSaved(_message.Message):
    __slots__ = ("provider_id", "name", "type", "smtp_host", "smtp_port", "smtp_username", "smtp_password_sealed", "from_address", "from_name", "region", "ses_access_key_id", "ses_secret_access_key_sealed", "max_send_rate", "max_connections", "sns_topic_arns", "allow_first_sns_topic", "max_message_bytes", "max_messages_per_connection", "fallback_provider_ids", "ses_configuration_set", "ses_tenant")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SMTP_HOST_FIELD_NUMBER: _ClassVar[int]
    SMTP_PORT_FIELD_NUMBER: _ClassVar[int]
    SMTP_USERNAME_FIELD_NUMBER: _ClassVar[int]
    SMTP_PASSWORD_SEALED_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SES_ACCESS_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SES_SECRET_ACCESS_KEY_SEALED_FIELD_NUMBER: _ClassVar[int]
    MAX_SEND_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    SNS_TOPIC_ARNS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_FIRST_SNS_TOPIC_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGES_PER_CONNECTION_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_PROVIDER_IDS_FIELD_NUMBER: _ClassVar[int]
    SES_CONFIGURATION_SET_FIELD_NUMBER: _ClassVar[int]
    SES_TENANT_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    name: str
    type: str
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password_sealed: bytes
    from_address: str
    from_name: str
    region: str
    ses_access_key_id: str
    ses_secret_access_key_sealed: bytes
    max_send_rate: float
    max_connections: int
    sns_topic_arns: _containers.RepeatedScalarFieldContainer[str]
    allow_first_sns_topic: bool
    max_message_bytes: int
    max_messages_per_connection: int
    fallback_provider_ids: _containers.RepeatedScalarFieldContainer[str]
    ses_configuration_set: str
    ses_tenant: str
    def __init__(self, provider_id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., smtp_host: _Optional[str] = ..., smtp_port: _Optional[int] = ..., smtp_username: _Optional[str] = ..., smtp_password_sealed: _Optional[bytes] = ..., from_address: _Optional[str] = ..., from_name: _Optional[str] = ..., region: _Optional[str] = ..., ses_access_key_id: _Optional[str] = ..., ses_secret_access_key_sealed: _Optional[bytes] = ..., max_send_rate: _Optional[float] = ..., max_connections: _Optional[int] = ..., sns_topic_arns: _Optional[_Iterable[str]] = ..., allow_first_sns_topic: _Optional[bool] = ..., max_message_bytes: _Optional[int] = ..., max_messages_per_connection: _Optional[int] = ..., fallback_provider_ids: _Optional[_Iterable[str]] = ..., ses_configuration_set: _Optional[str] = ..., ses_tenant: _Optional[str] = ...) -> None: ...

class ProviderDeleted(_message.Message):
    __slots__ = ("provider_id",)
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    def __init__(self, provider_id: _Optional[str] = ...) -> None: ...

class ProviderTopicAllowed(_message.Message):
    __slots__ = ("provider_id", "topic_arn")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ARN_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    topic_arn: str
    def __init__(self, provider_id: _Optional[str] = ..., topic_arn: _Optional[str] = ...) -> None: ...

class SesAccountObserved(_message.Message):
    __slots__ = ("provider_id", "region", "max_send_rate", "max_24_hour_send", "sent_last_24_hours", "enforcement_status", "sending_enabled", "production_access_enabled")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    MAX_SEND_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_24_HOUR_SEND_FIELD_NUMBER: _ClassVar[int]
    SENT_LAST_24_HOURS_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    SENDING_ENABLED_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_ACCESS_ENABLED_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    region: str
    max_send_rate: float
    max_24_hour_send: float
    sent_last_24_hours: float
    enforcement_status: str
    sending_enabled: bool
    production_access_enabled: bool
    def __init__(self, provider_id: _Optional[str] = ..., region: _Optional[str] = ..., max_send_rate: _Optional[float] = ..., max_24_hour_send: _Optional[float] = ..., sent_last_24_hours: _Optional[float] = ..., enforcement_status: _Optional[str] = ..., sending_enabled: _Optional[bool] = ..., production_access_enabled: _Optional[bool] = ...) -> None: ...

class EmailAddress(_message.Message):
    __slots__ = ("address", "name")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    address: str
    name: str
    def __init__(self, address: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class EmailQueued(_message.Message):
    __slots__ = ("dispatch_id", "provider_id", "to", "cc", "bcc", "subject", "text_body", "html_body", "headers", "reply_to", "tags", "list_id", "idempotency_key", "transactional", "text_body_ref", "html_body_ref", "attachments", "retry_of")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    CC_FIELD_NUMBER: _ClassVar[int]
    BCC_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TEXT_BODY_FIELD_NUMBER: _ClassVar[int]
    HTML_BODY_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONAL_FIELD_NUMBER: _ClassVar[int]
    TEXT_BODY_REF_FIELD_NUMBER: _ClassVar[int]
    HTML_BODY_REF_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    provider_id: str
    to: _containers.RepeatedCompositeFieldContainer[EmailAddress]
    cc: _containers.RepeatedCompositeFieldContainer[EmailAddress]
    bcc: _containers.RepeatedCompositeFieldContainer[EmailAddress]
    subject: str
    text_body: str
    html_body: str
    headers: _containers.ScalarMap[str, str]
    reply_to: EmailAddress
    tags: _containers.ScalarMap[str, str]
    list_id: str
    idempotency_key: str
    transactional: bool
    text_body_ref: ContentReference
    html_body_ref: ContentReference
    attachments: _containers.RepeatedCompositeFieldContainer[QueuedAttachment]
    retry_of: str
    def __init__(self, dispatch_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., to: _Optional[_Iterable[_Union[EmailAddress, _Mapping]]] = ..., cc: _Optional[_Iterable[_Union[EmailAddress, _Mapping]]] = ..., bcc: _Optional[_Iterable[_Union[EmailAddress, _Mapping]]] = ..., subject: _Optional[str] = ..., text_body: _Optional[str] = ..., html_body: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., reply_to: _Optional[_Union[EmailAddress, _Mapping]] = ..., tags: _Optional[_Mapping[str, str]] = ..., list_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., transactional: _Optional[bool] = ..., text_body_ref: _Optional[_Union[ContentReference, _Mapping]] = ..., html_body_ref: _Optional[_Union[ContentReference, _Mapping]] = ..., attachments: _Optional[_Iterable[_Union[QueuedAttachment, _Mapping]]] = ..., retry_of: _Optional[str] = ...) -> None: ...

class ContentReference(_message.Message):
    __slots__ = ("sha256", "size", "media_type")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    size: int
    media_type: str
    def __init__(self, sha256: _Optional[str] = ..., size: _Optional[int] = ..., media_type: _Optional[str] = ...) -> None: ...

class QueuedAttachment(_message.Message):
    __slots__ = ("filename", "content_id", "content")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    filename: str
    content_id: str
    content: ContentReference
    def __init__(self, filename: _Optional[str] = ..., content_id: _Optional[str] = ..., content: _Optional[_Union[ContentReference, _Mapping]] = ...) -> None: ...

class EmailDispatched(_message.Message):
    __slots__ = ("dispatch_id", "provider_id", "ses_message_id", "attempts", "smtp_reply", "recipient_hashes", "sent_by_provider_id")
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    SES_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    SMTP_REPLY_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASHES_FIELD_NUMBER: _ClassVar[int]
    SENT_BY_PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    provider_id: str
    ses_message_id: str
    attempts: int
    smtp_reply: str
    recipient_hashes: _containers.RepeatedScalarFieldContainer[str]
    sent_by_provider_id: str
    def __init__(self, dispatch_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., ses_message_id: _Optional[str] = ..., attempts: _Optional[int] = ..., smtp_reply: _Optional[str] = ..., recipient_hashes: _Optional[_Iterable[str]] = ..., sent_by_provider_id: _Optional[str] = ...) -> None: ...

class DispatchFailed(_message.Message):
    __slots__ = ("dispatch_id", "provider_id", "smtp_code", "smtp_text", "hint", "attempts")
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    SMTP_CODE_FIELD_NUMBER: _ClassVar[int]
    SMTP_TEXT_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    provider_id: str
    smtp_code: int
    smtp_text: str
    hint: str
    attempts: int
    def __init__(self, dispatch_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., smtp_code: _Optional[int] = ..., smtp_text: _Optional[str] = ..., hint: _Optional[str] = ..., attempts: _Optional[int] = ...) -> None: ...

class EmailSuppressed(_message.Message):
    __slots__ = ("dispatch_id", "provider_id", "recipient_hash", "reason")
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    provider_id: str
    recipient_hash: str
    reason: str
    def __init__(self, dispatch_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., recipient_hash: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DispatchAttemptFailed(_message.Message):
    __slots__ = ("dispatch_id", "provider_id", "attempt", "smtp_code", "smtp_reply", "hint")
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    SMTP_CODE_FIELD_NUMBER: _ClassVar[int]
    SMTP_REPLY_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    provider_id: str
    attempt: int
    smtp_code: int
    smtp_reply: str
    hint: str
    def __init__(self, dispatch_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., attempt: _Optional[int] = ..., smtp_code: _Optional[int] = ..., smtp_reply: _Optional[str] = ..., hint: _Optional[str] = ...) -> None: ...

class ProviderPaused(_message.Message):
    __slots__ = ("provider_id", "reason", "consecutive_failures", "cause", "scope", "bounce_rate", "complaint_rate", "window_sends")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_RATE_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_RATE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SENDS_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    reason: str
    consecutive_failures: int
    cause: str
    scope: str
    bounce_rate: float
    complaint_rate: float
    window_sends: int
    def __init__(self, provider_id: _Optional[str] = ..., reason: _Optional[str] = ..., consecutive_failures: _Optional[int] = ..., cause: _Optional[str] = ..., scope: _Optional[str] = ..., bounce_rate: _Optional[float] = ..., complaint_rate: _Optional[float] = ..., window_sends: _Optional[int] = ...) -> None: ...

class ProviderResumed(_message.Message):
    __slots__ = ("provider_id", "resumed_by", "reason")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RESUMED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    resumed_by: str
    reason: str
    def __init__(self, provider_id: _Optional[str] = ..., resumed_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class BounceReceived(_message.Message):
    __slots__ = ("provider_id", "recipient_hash", "recipient", "bounce_type", "bounce_subtype", "status", "diagnostic_code", "ses_message_id", "dispatch_id", "feedback_id", "sns_message_id", "bounced_at")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_SUBTYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTIC_CODE_FIELD_NUMBER: _ClassVar[int]
    SES_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    SNS_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_AT_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    recipient_hash: str
    recipient: str
    bounce_type: str
    bounce_subtype: str
    status: str
    diagnostic_code: str
    ses_message_id: str
    dispatch_id: str
    feedback_id: str
    sns_message_id: str
    bounced_at: _timestamp_pb2.Timestamp
    def __init__(self, provider_id: _Optional[str] = ..., recipient_hash: _Optional[str] = ..., recipient: _Optional[str] = ..., bounce_type: _Optional[str] = ..., bounce_subtype: _Optional[str] = ..., status: _Optional[str] = ..., diagnostic_code: _Optional[str] = ..., ses_message_id: _Optional[str] = ..., dispatch_id: _Optional[str] = ..., feedback_id: _Optional[str] = ..., sns_message_id: _Optional[str] = ..., bounced_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ComplaintReceived(_message.Message):
    __slots__ = ("provider_id", "recipient_hash", "recipient", "feedback_type", "ses_message_id", "dispatch_id", "feedback_id", "sns_message_id", "complained_at")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_TYPE_FIELD_NUMBER: _ClassVar[int]
    SES_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    SNS_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLAINED_AT_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    recipient_hash: str
    recipient: str
    feedback_type: str
    ses_message_id: str
    dispatch_id: str
    feedback_id: str
    sns_message_id: str
    complained_at: _timestamp_pb2.Timestamp
    def __init__(self, provider_id: _Optional[str] = ..., recipient_hash: _Optional[str] = ..., recipient: _Optional[str] = ..., feedback_type: _Optional[str] = ..., ses_message_id: _Optional[str] = ..., dispatch_id: _Optional[str] = ..., feedback_id: _Optional[str] = ..., sns_message_id: _Optional[str] = ..., complained_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeliveryReceived(_message.Message):
    __slots__ = ("provider_id", "recipient_hash", "recipient", "smtp_response", "ses_message_id", "dispatch_id", "sns_message_id", "delivered_at")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SMTP_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    SES_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SNS_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    recipient_hash: str
    recipient: str
    smtp_response: str
    ses_message_id: str
    dispatch_id: str
    sns_message_id: str
    delivered_at: _timestamp_pb2.Timestamp
    def __init__(self, provider_id: _Optional[str] = ..., recipient_hash: _Optional[str] = ..., recipient: _Optional[str] = ..., smtp_response: _Optional[str] = ..., ses_message_id: _Optional[str] = ..., dispatch_id: _Optional[str] = ..., sns_message_id: _Optional[str] = ..., delivered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SnsSubscriptionConfirmed(_message.Message):
    __slots__ = ("provider_id", "topic_arn", "sns_message_id")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ARN_FIELD_NUMBER: _ClassVar[int]
    SNS_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    topic_arn: str
    sns_message_id: str
    def __init__(self, provider_id: _Optional[str] = ..., topic_arn: _Optional[str] = ..., sns_message_id: _Optional[str] = ...) -> None: ...

class SnsUnsubscribeReceived(_message.Message):
    __slots__ = ("provider_id", "topic_arn", "sns_message_id")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_ARN_FIELD_NUMBER: _ClassVar[int]
    SNS_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    topic_arn: str
    sns_message_id: str
    def __init__(self, provider_id: _Optional[str] = ..., topic_arn: _Optional[str] = ..., sns_message_id: _Optional[str] = ...) -> None: ...

class Unsubscribed(_message.Message):
    __slots__ = ("recipient_hash", "recipient", "list_id", "reason", "source", "dispatch_id")
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    recipient_hash: str
    recipient: str
    list_id: str
    reason: str
    source: str
    dispatch_id: str
    def __init__(self, recipient_hash: _Optional[str] = ..., recipient: _Optional[str] = ..., list_id: _Optional[str] = ..., reason: _Optional[str] = ..., source: _Optional[str] = ..., dispatch_id: _Optional[str] = ...) -> None: ...

class Resubscribed(_message.Message):
    __slots__ = ("recipient_hash", "recipient", "list_id", "source")
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    recipient_hash: str
    recipient: str
    list_id: str
    source: str
    def __init__(self, recipient_hash: _Optional[str] = ..., recipient: _Optional[str] = ..., list_id: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class SesSuppressionImported(_message.Message):
    __slots__ = ("provider_id", "recipient_hash", "recipient", "ses_reason", "last_update_time")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SES_REASON_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    recipient_hash: str
    recipient: str
    ses_reason: str
    last_update_time: _timestamp_pb2.Timestamp
    def __init__(self, provider_id: _Optional[str] = ..., recipient_hash: _Optional[str] = ..., recipient: _Optional[str] = ..., ses_reason: _Optional[str] = ..., last_update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SesSuppressionRemoved(_message.Message):
    __slots__ = ("provider_id", "recipient_hash", "recipient", "source")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    recipient_hash: str
    recipient: str
    source: str
    def __init__(self, provider_id: _Optional[str] = ..., recipient_hash: _Optional[str] = ..., recipient: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class SesSuppressionRemovalRequested(_message.Message):
    __slots__ = ("recipient_hash", "recipient", "source")
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    recipient_hash: str
    recipient: str
    source: str
    def __init__(self, recipient_hash: _Optional[str] = ..., recipient: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class SesTenantObserved(_message.Message):
    __slots__ = ("provider_id", "tenant_name", "sending_status")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_NAME_FIELD_NUMBER: _ClassVar[int]
    SENDING_STATUS_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    tenant_name: str
    sending_status: str
    def __init__(self, provider_id: _Optional[str] = ..., tenant_name: _Optional[str] = ..., sending_status: _Optional[str] = ...) -> None: ...
