"""The attachments and inline parts of a kept message, as a mail client lists them. Pure.

A part is listed when it has a file name, a Content-ID (an inline part that HTML refers to with
`cid:`), or `Content-Disposition: attachment`; the text and HTML bodies are not. File names are
decoded whether they came RFC 2231-encoded (`filename*=utf-8''...`) or, as some clients write them,
RFC 2047-encoded (`filename="=?utf-8?q?...?="`).
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from typing import Any


@dataclass(frozen=True)
class MessagePart:
    index: int
    filename: str | None
    media_type: str
    size: int  # bytes once the transfer encoding is undone
    content_id: str | None
    disposition: str | None  # attachment, inline, or None

    def summary(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "filename": self.filename,
            "media_type": self.media_type,
            "size": self.size,
            "content_id": self.content_id,
            "disposition": self.disposition,
        }


def _decoded_filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (LookupError, ValueError):  # an unknown charset in filename*=: show nothing rather than fail
        return None
    if name and "=?" in name:
        try:
            name = str(make_header(decode_header(name)))
        except (LookupError, ValueError, UnicodeError):
            pass
    return name


def _content_id(part: Message) -> str | None:
    value = part.get("Content-ID")
    return str(value).strip().strip("<>") or None if value is not None else None


def _is_listed(part: Message) -> bool:
    return bool(part.get_filename(None) or part.get("Content-ID") or part.get_content_disposition() == "attachment")


def _leaves(message: Message) -> list[Message]:
    return [part for part in message.walk() if not part.is_multipart()]


def _parsed(data: bytes) -> Message:
    return message_from_bytes(data, policy=policy.default)


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def listed_parts(data: bytes) -> list[Message]:
    """The listed parts of a raw message, in message order."""
    try:
        return [part for part in _leaves(_parsed(data)) if _is_listed(part)]
    except (LookupError, ValueError, AttributeError):
        return []  # a message too malformed to walk lists no parts rather than fail the inbox


def _described(index: int, part: Message) -> MessagePart:
    return MessagePart(
        index,
        _decoded_filename(part),
        part.get_content_type(),
        len(_payload(part)),
        _content_id(part),
        part.get_content_disposition(),
    )


def message_parts(data: bytes) -> list[MessagePart]:
    return [_described(index, part) for index, part in enumerate(listed_parts(data))]


def part_content(data: bytes, index: int) -> tuple[MessagePart, bytes] | None:
    """The listed part number `index` and its decoded bytes, or None when there is no such part."""
    parts = listed_parts(data)
    if not 0 <= index < len(parts):
        return None
    return _described(index, parts[index]), _payload(parts[index])
