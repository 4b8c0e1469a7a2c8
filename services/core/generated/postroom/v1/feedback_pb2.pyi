import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetRecipientStatusRequest(_message.Message):
    __slots__ = ("account_id", "email")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    email: str
    def __init__(self, account_id: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class FeedbackRecord(_message.Message):
    __slots__ = ("kind", "provider_id", "recipient", "bounce_type", "bounce_subtype", "feedback_type", "diagnostic_code", "ses_message_id", "dispatch_id", "occurred_at", "status", "sequence")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_SUBTYPE_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_TYPE_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTIC_CODE_FIELD_NUMBER: _ClassVar[int]
    SES_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    provider_id: str
    recipient: str
    bounce_type: str
    bounce_subtype: str
    feedback_type: str
    diagnostic_code: str
    ses_message_id: str
    dispatch_id: str
    occurred_at: _timestamp_pb2.Timestamp
    status: str
    sequence: int
    def __init__(self, kind: _Optional[str] = ..., provider_id: _Optional[str] = ..., recipient: _Optional[str] = ..., bounce_type: _Optional[str] = ..., bounce_subtype: _Optional[str] = ..., feedback_type: _Optional[str] = ..., diagnostic_code: _Optional[str] = ..., ses_message_id: _Optional[str] = ..., dispatch_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class RecipientStatus(_message.Message):
    __slots__ = ("account_id", "recipient_hash", "suppressed", "suppression_reason", "recent", "soft_bounces")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_REASON_FIELD_NUMBER: _ClassVar[int]
    RECENT_FIELD_NUMBER: _ClassVar[int]
    SOFT_BOUNCES_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    recipient_hash: str
    suppressed: bool
    suppression_reason: str
    recent: _containers.RepeatedCompositeFieldContainer[FeedbackRecord]
    soft_bounces: int
    def __init__(self, account_id: _Optional[str] = ..., recipient_hash: _Optional[str] = ..., suppressed: _Optional[bool] = ..., suppression_reason: _Optional[str] = ..., recent: _Optional[_Iterable[_Union[FeedbackRecord, _Mapping]]] = ..., soft_bounces: _Optional[int] = ...) -> None: ...

class ListFeedbackRequest(_message.Message):
    __slots__ = ("account_id", "provider_id", "kind", "page_size", "page_token", "email")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    provider_id: str
    kind: str
    page_size: int
    page_token: str
    email: str
    def __init__(self, account_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., kind: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class ListFeedbackResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[FeedbackRecord]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[FeedbackRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetProviderStatsRequest(_message.Message):
    __slots__ = ("account_id", "provider_id", "window_days")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    provider_id: str
    window_days: int
    def __init__(self, account_id: _Optional[str] = ..., provider_id: _Optional[str] = ..., window_days: _Optional[int] = ...) -> None: ...

class ProviderStats(_message.Message):
    __slots__ = ("sent", "delivered", "bounced", "complained", "bounce_rate", "complaint_rate", "bounce_rate_over_review_line", "complaint_rate_over_review_line", "soft_bounced", "window_days")
    SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_FIELD_NUMBER: _ClassVar[int]
    COMPLAINED_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_RATE_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_RATE_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_RATE_OVER_REVIEW_LINE_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_RATE_OVER_REVIEW_LINE_FIELD_NUMBER: _ClassVar[int]
    SOFT_BOUNCED_FIELD_NUMBER: _ClassVar[int]
    WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    sent: int
    delivered: int
    bounced: int
    complained: int
    bounce_rate: float
    complaint_rate: float
    bounce_rate_over_review_line: bool
    complaint_rate_over_review_line: bool
    soft_bounced: int
    window_days: int
    def __init__(self, sent: _Optional[int] = ..., delivered: _Optional[int] = ..., bounced: _Optional[int] = ..., complained: _Optional[int] = ..., bounce_rate: _Optional[float] = ..., complaint_rate: _Optional[float] = ..., bounce_rate_over_review_line: _Optional[bool] = ..., complaint_rate_over_review_line: _Optional[bool] = ..., soft_bounced: _Optional[int] = ..., window_days: _Optional[int] = ...) -> None: ...
