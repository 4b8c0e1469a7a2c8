import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UnsubscribeRequest(_message.Message):
    __slots__ = ("account_id", "email", "list_id", "reason", "source", "dispatch_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    email: str
    list_id: str
    reason: str
    source: str
    dispatch_id: str
    def __init__(self, account_id: _Optional[str] = ..., email: _Optional[str] = ..., list_id: _Optional[str] = ..., reason: _Optional[str] = ..., source: _Optional[str] = ..., dispatch_id: _Optional[str] = ...) -> None: ...

class ResubscribeRequest(_message.Message):
    __slots__ = ("account_id", "email", "list_id", "source", "remove_from_ses")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FROM_SES_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    email: str
    list_id: str
    source: str
    remove_from_ses: bool
    def __init__(self, account_id: _Optional[str] = ..., email: _Optional[str] = ..., list_id: _Optional[str] = ..., source: _Optional[str] = ..., remove_from_ses: _Optional[bool] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("account_id", "email", "recipient_hash")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    email: str
    recipient_hash: str
    def __init__(self, account_id: _Optional[str] = ..., email: _Optional[str] = ..., recipient_hash: _Optional[str] = ...) -> None: ...

class SubscriptionStatus(_message.Message):
    __slots__ = ("account_id", "recipient_hash", "globally_unsubscribed", "unsubscribed_lists", "changed", "ses_suppressed", "ses_suppressed_by", "ses_removal_requested")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    GLOBALLY_UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_LISTS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    SES_SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    SES_SUPPRESSED_BY_FIELD_NUMBER: _ClassVar[int]
    SES_REMOVAL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    recipient_hash: str
    globally_unsubscribed: bool
    unsubscribed_lists: _containers.RepeatedScalarFieldContainer[str]
    changed: bool
    ses_suppressed: bool
    ses_suppressed_by: _containers.RepeatedScalarFieldContainer[str]
    ses_removal_requested: bool
    def __init__(self, account_id: _Optional[str] = ..., recipient_hash: _Optional[str] = ..., globally_unsubscribed: _Optional[bool] = ..., unsubscribed_lists: _Optional[_Iterable[str]] = ..., changed: _Optional[bool] = ..., ses_suppressed: _Optional[bool] = ..., ses_suppressed_by: _Optional[_Iterable[str]] = ..., ses_removal_requested: _Optional[bool] = ...) -> None: ...

class UnsubscribeEntry(_message.Message):
    __slots__ = ("recipient_hash", "list_id", "reason", "source", "unsubscribed_at", "dispatch_id")
    RECIPIENT_HASH_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_AT_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    recipient_hash: str
    list_id: str
    reason: str
    source: str
    unsubscribed_at: _timestamp_pb2.Timestamp
    dispatch_id: str
    def __init__(self, recipient_hash: _Optional[str] = ..., list_id: _Optional[str] = ..., reason: _Optional[str] = ..., source: _Optional[str] = ..., unsubscribed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dispatch_id: _Optional[str] = ...) -> None: ...

class ListUnsubscribesRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUnsubscribesResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[UnsubscribeEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[UnsubscribeEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateUnsubscribeLinkRequest(_message.Message):
    __slots__ = ("account_id", "email", "list_id", "dispatch_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    email: str
    list_id: str
    dispatch_id: str
    def __init__(self, account_id: _Optional[str] = ..., email: _Optional[str] = ..., list_id: _Optional[str] = ..., dispatch_id: _Optional[str] = ...) -> None: ...

class UnsubscribeLink(_message.Message):
    __slots__ = ("url", "list_unsubscribe_header", "list_unsubscribe_post_header", "token")
    URL_FIELD_NUMBER: _ClassVar[int]
    LIST_UNSUBSCRIBE_HEADER_FIELD_NUMBER: _ClassVar[int]
    LIST_UNSUBSCRIBE_POST_HEADER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    url: str
    list_unsubscribe_header: str
    list_unsubscribe_post_header: str
    token: str
    def __init__(self, url: _Optional[str] = ..., list_unsubscribe_header: _Optional[str] = ..., list_unsubscribe_post_header: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...
