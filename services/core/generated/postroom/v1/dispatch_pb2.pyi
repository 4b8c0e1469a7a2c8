import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from services.core.generated.postroom.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DispatchStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISPATCH_STATUS_UNSPECIFIED: _ClassVar[DispatchStatus]
    QUEUED: _ClassVar[DispatchStatus]
    SENDING: _ClassVar[DispatchStatus]
    DISPATCHED: _ClassVar[DispatchStatus]
    FAILED: _ClassVar[DispatchStatus]
    SUPPRESSED: _ClassVar[DispatchStatus]
DISPATCH_STATUS_UNSPECIFIED: DispatchStatus
QUEUED: DispatchStatus
SENDING: DispatchStatus
DISPATCHED: DispatchStatus
FAILED: DispatchStatus
SUPPRESSED: DispatchStatus

class SendEmailRequest(_message.Message):
    __slots__ = ("account_id", "provider_id", "to", "cc", "bcc", "subject", "text_body", "html_body", "headers", "reply_to", "tags", "list_id", "idempotency_key", "transactional", "attachments", "text_body_ref", "html_body_ref")
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
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
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
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    TEXT_BODY_REF_FIELD_NUMBER: _ClassVar[int]
    HTML_BODY_REF_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    provider_id: str
    to: _containers.RepeatedCompositeFieldContainer[_events_pb2.EmailAddress]
    cc: _containers.RepeatedCompositeFieldContainer[_events_pb2.EmailAddress]
    bcc: _containers.RepeatedCompositeFieldContainer[_events_pb2.EmailAddress]
    subject: str
    text_body: str
    html_body: str
    headers: _containers.ScalarMap[str, str]
    reply_to: _events_pb2.EmailAddress
    tags: _containers.ScalarMap[str, str]
    list_id: str
    idempotency_key: str
    transactional: bool
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    text_body_ref: str
    html_body_ref: str
    def __init__(self, account_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., to: _Optional[_Iterable[_Union[_events_pb2.EmailAddress, _Mapping]]] = ..., cc: _Optional[_Iterable[_Union[_events_pb2.EmailAddress, _Mapping]]] = ..., bcc: _Optional[_Iterable[_Union[_events_pb2.EmailAddress, _Mapping]]] = ..., subject: _Optional[str] = ..., text_body: _Optional[str] = ..., html_body: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., reply_to: _Optional[_Union[_events_pb2.EmailAddress, _Mapping]] = ..., tags: _Optional[_Mapping[str, str]] = ..., list_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., transactional: _Optional[bool] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ..., text_body_ref: _Optional[str] = ..., html_body_ref: _Optional[str] = ...) -> None: ...

class SendEmailResponse(_message.Message):
    __slots__ = ("dispatch_id", "status")
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    status: DispatchStatus
    def __init__(self, dispatch_id: _Optional[str] = ..., status: _Optional[_Union[DispatchStatus, str]] = ...) -> None: ...

class SendEmailBatchRequest(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[SendEmailRequest]
    def __init__(self, messages: _Optional[_Iterable[_Union[SendEmailRequest, _Mapping]]] = ...) -> None: ...

class SendEmailBatchResult(_message.Message):
    __slots__ = ("dispatch_id", "status", "error_code", "error_message")
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    status: DispatchStatus
    error_code: int
    error_message: str
    def __init__(self, dispatch_id: _Optional[str] = ..., status: _Optional[_Union[DispatchStatus, str]] = ..., error_code: _Optional[int] = ..., error_message: _Optional[str] = ...) -> None: ...

class SendEmailBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SendEmailBatchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SendEmailBatchResult, _Mapping]]] = ...) -> None: ...

class GetDispatchRequest(_message.Message):
    __slots__ = ("account_id", "dispatch_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    dispatch_id: str
    def __init__(self, account_id: _Optional[str] = ..., dispatch_id: _Optional[str] = ...) -> None: ...

class Dispatch(_message.Message):
    __slots__ = ("account_id", "dispatch_id", "provider_id", "status", "ses_message_id", "attempts", "last_smtp_reply", "hint", "provider_paused_reason", "waiting_reason", "content_held", "recipients", "list_id", "queued_at", "retry_of", "tags", "sent_by_provider_id")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SES_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_SMTP_REPLY_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_PAUSED_REASON_FIELD_NUMBER: _ClassVar[int]
    WAITING_REASON_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HELD_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUED_AT_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SENT_BY_PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    dispatch_id: str
    provider_id: str
    status: DispatchStatus
    ses_message_id: str
    attempts: int
    last_smtp_reply: str
    hint: str
    provider_paused_reason: str
    waiting_reason: str
    content_held: bool
    recipients: _containers.RepeatedScalarFieldContainer[str]
    list_id: str
    queued_at: _timestamp_pb2.Timestamp
    retry_of: str
    tags: _containers.ScalarMap[str, str]
    sent_by_provider_id: str
    def __init__(self, account_id: _Optional[str] = ..., dispatch_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., status: _Optional[_Union[DispatchStatus, str]] = ..., ses_message_id: _Optional[str] = ..., attempts: _Optional[int] = ..., last_smtp_reply: _Optional[str] = ..., hint: _Optional[str] = ..., provider_paused_reason: _Optional[str] = ..., waiting_reason: _Optional[str] = ..., content_held: _Optional[bool] = ..., recipients: _Optional[_Iterable[str]] = ..., list_id: _Optional[str] = ..., queued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retry_of: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., sent_by_provider_id: _Optional[str] = ...) -> None: ...

class SendTestEmailRequest(_message.Message):
    __slots__ = ("account_id", "provider_id", "to")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    provider_id: str
    to: str
    def __init__(self, account_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., to: _Optional[str] = ...) -> None: ...

class SendTestEmailResponse(_message.Message):
    __slots__ = ("delivered", "ses_message_id", "smtp_code", "smtp_reply", "troubleshooting_case", "hint")
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    SES_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SMTP_CODE_FIELD_NUMBER: _ClassVar[int]
    SMTP_REPLY_FIELD_NUMBER: _ClassVar[int]
    TROUBLESHOOTING_CASE_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    delivered: bool
    ses_message_id: str
    smtp_code: int
    smtp_reply: str
    troubleshooting_case: str
    hint: str
    def __init__(self, delivered: _Optional[bool] = ..., ses_message_id: _Optional[str] = ..., smtp_code: _Optional[int] = ..., smtp_reply: _Optional[str] = ..., troubleshooting_case: _Optional[str] = ..., hint: _Optional[str] = ...) -> None: ...

class ListSuppressionsRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class Suppression(_message.Message):
    __slots__ = ("account_id", "recipient_hash", "suppressed", "reason", "list_id", "recipient", "since")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    recipient_hash: str
    suppressed: bool
    reason: str
    list_id: str
    recipient: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., recipient_hash: _Optional[str] = ..., suppressed: _Optional[bool] = ..., reason: _Optional[str] = ..., list_id: _Optional[str] = ..., recipient: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSuppressionsResponse(_message.Message):
    __slots__ = ("suppressions", "next_page_token")
    SUPPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    suppressions: _containers.RepeatedCompositeFieldContainer[Suppression]
    next_page_token: str
    def __init__(self, suppressions: _Optional[_Iterable[_Union[Suppression, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRecipientSuppressionRequest(_message.Message):
    __slots__ = ("account_id", "email", "list_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    email: str
    list_id: str
    def __init__(self, account_id: _Optional[str] = ..., email: _Optional[str] = ..., list_id: _Optional[str] = ...) -> None: ...

class DispatchFilter(_message.Message):
    __slots__ = ("statuses", "provider_id", "list_id", "tag", "recipient", "queued_after", "queued_before")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    QUEUED_AFTER_FIELD_NUMBER: _ClassVar[int]
    QUEUED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[DispatchStatus]
    provider_id: str
    list_id: str
    tag: str
    recipient: str
    queued_after: _timestamp_pb2.Timestamp
    queued_before: _timestamp_pb2.Timestamp
    def __init__(self, statuses: _Optional[_Iterable[_Union[DispatchStatus, str]]] = ..., provider_id: _Optional[str] = ..., list_id: _Optional[str] = ..., tag: _Optional[str] = ..., recipient: _Optional[str] = ..., queued_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., queued_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDispatchesRequest(_message.Message):
    __slots__ = ("account_id", "filter", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    filter: DispatchFilter
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., filter: _Optional[_Union[DispatchFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDispatchesResponse(_message.Message):
    __slots__ = ("dispatches", "next_page_token")
    DISPATCHES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    dispatches: _containers.RepeatedCompositeFieldContainer[Dispatch]
    next_page_token: str
    def __init__(self, dispatches: _Optional[_Iterable[_Union[Dispatch, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RetryDispatchesRequest(_message.Message):
    __slots__ = ("account_id", "dispatch_ids", "filter", "retry_key")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    RETRY_KEY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    dispatch_ids: _containers.RepeatedScalarFieldContainer[str]
    filter: DispatchFilter
    retry_key: str
    def __init__(self, account_id: _Optional[str] = ..., dispatch_ids: _Optional[_Iterable[str]] = ..., filter: _Optional[_Union[DispatchFilter, _Mapping]] = ..., retry_key: _Optional[str] = ...) -> None: ...

class RetriedDispatch(_message.Message):
    __slots__ = ("original_dispatch_id", "dispatch_id", "status", "error_code", "error_message")
    ORIGINAL_DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    original_dispatch_id: str
    dispatch_id: str
    status: DispatchStatus
    error_code: int
    error_message: str
    def __init__(self, original_dispatch_id: _Optional[str] = ..., dispatch_id: _Optional[str] = ..., status: _Optional[_Union[DispatchStatus, str]] = ..., error_code: _Optional[int] = ..., error_message: _Optional[str] = ...) -> None: ...

class RetryDispatchesResponse(_message.Message):
    __slots__ = ("retried",)
    RETRIED_FIELD_NUMBER: _ClassVar[int]
    retried: _containers.RepeatedCompositeFieldContainer[RetriedDispatch]
    def __init__(self, retried: _Optional[_Iterable[_Union[RetriedDispatch, _Mapping]]] = ...) -> None: ...

class Attachment(_message.Message):
    __slots__ = ("filename", "media_type", "content_id", "content", "content_ref")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_REF_FIELD_NUMBER: _ClassVar[int]
    filename: str
    media_type: str
    content_id: str
    content: bytes
    content_ref: str
    def __init__(self, filename: _Optional[str] = ..., media_type: _Optional[str] = ..., content_id: _Optional[str] = ..., content: _Optional[bytes] = ..., content_ref: _Optional[str] = ...) -> None: ...

class UploadContentRequest(_message.Message):
    __slots__ = ("account_id", "chunk", "total_size")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    chunk: bytes
    total_size: int
    def __init__(self, account_id: _Optional[str] = ..., chunk: _Optional[bytes] = ..., total_size: _Optional[int] = ...) -> None: ...

class UploadContentResponse(_message.Message):
    __slots__ = ("content_ref", "size")
    CONTENT_REF_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    content_ref: str
    size: int
    def __init__(self, content_ref: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class ResumeProviderRequest(_message.Message):
    __slots__ = ("account_id", "provider_id", "resumed_by", "reason")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RESUMED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    provider_id: str
    resumed_by: str
    reason: str
    def __init__(self, account_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., resumed_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResumeProviderResponse(_message.Message):
    __slots__ = ("provider_id", "lifted", "still_paused_reason")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    LIFTED_FIELD_NUMBER: _ClassVar[int]
    STILL_PAUSED_REASON_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    lifted: _containers.RepeatedScalarFieldContainer[str]
    still_paused_reason: str
    def __init__(self, provider_id: _Optional[str] = ..., lifted: _Optional[_Iterable[str]] = ..., still_paused_reason: _Optional[str] = ...) -> None: ...
