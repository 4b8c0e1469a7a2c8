"""Building the MIME message SES receives (pure): safe headers, RFC 2047, one-click unsubscribe,
attachments and inline parts, and the message's size before it is built.

Written directly rather than through `email.message.EmailMessage`: its header registry parses
and refolds every header, which cost more CPU per email than the whole SMTP exchange. The
pieces that need care still come from the standard library: `email.header.Header` for RFC 2047
encoded words, `formataddr` for display names, `quoprimime` for quoted-printable bodies, `base64` for
attachments (base64_lines); the unit tests parse every message back with the `email` package.

With parts, the message nests as mail clients expect: `multipart/mixed` holds the regular
attachments after `multipart/related`, which holds the inline parts after the body (the
`multipart/alternative` or the single text part) that refers to them as `cid:`.
"""

from __future__ import annotations

import base64
import functools
import os
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email import quoprimime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid

from services.core.email_address import domain_of
from services.core.errors import require
from services.core.ses_headers import CONFIGURATION_SET_HEADER, TENANT_HEADER
from services.dispatch.attachments import AttachmentContent, AttachmentMetadata, attachment_violations
from services.dispatch.base64_lines import Base64Lines, base64_lines, base64_lines_size
from services.dispatch.list_id import LIST_ID_HEADER, list_id_value
from services.dispatch.sized_cache import SizedCache
from services.dispatch.domain import DISPATCH_ID_TAG, HEADER_NAME, EmailRequest, Mailbox, ProviderConfig

DISPATCH_ID_HEADER = "X-Postroom-Dispatch-Id"  # the feedback service ties SES bounces back through it
SES_TAGS_HEADER = "X-SES-MESSAGE-TAGS"
_CRLF = "\r\n"
_LINE_BREAKS = ("\r", "\n")
_FOLD_AT = 78  # RFC 5322 2.1.1: lines SHOULD be at most 78 characters
_MAX_LINE = 998  # ...and MUST be at most 998
_PARAMETER_VALUE_CHARS = 60  # keeps each `filename*N*=` continuation line within 78
_ENCODED_WORD_BYTES = 42  # 56 base64 characters: each `=?utf-8?b?...?=` line within 78

# The size bound writes the headers that vary per send at their longest: a dispatch id is a UUID,
# a Date always has the same width, and make_msgid writes <centiseconds.pid.random64@domain>.
_A_DISPATCH_ID = "0" * 36
_ANY_DATE = datetime(2000, 1, 1, tzinfo=timezone.utc)
_LONGEST_MSGID_LOCAL_PART = f"{10**13 - 1}.{2**31 - 1}.{2**64 - 1}"

# A piece of the message: bytes, a part's content as base64 lines, or (for the size bound) the
# length of encoded content left unwritten.
Piece = bytes | Base64Lines | int


class UnsafeHeader(ValueError):
    """A header value or address carries a line break: it could inject headers."""

    def __init__(self, field_name: str) -> None:
        super().__init__(f"{field_name} must not contain CR or LF")
        self.field_name = field_name


@dataclass(frozen=True)
class Sender:
    address: str
    name: str = ""
    configuration_set: str = ""  # X-SES-CONFIGURATION-SET
    tenant: str = ""  # X-SES-TENANT

    @classmethod
    def of(cls, provider: ProviderConfig, *, sending_as: ProviderConfig | None = None) -> Sender:
        """`provider`'s configuration set and tenant, From `sending_as` (a fallback sends as the primary)."""
        identity = sending_as or provider
        return cls(identity.from_address, identity.from_name, provider.ses_configuration_set, provider.ses_tenant)


@dataclass(frozen=True)
class BuiltMessage:
    """The message in the pieces it was written in, never joined: an attachment many emails share
    is one object in each of them, not a copy of 1.4 MB per email in hand.

    Each piece is written in CRLF line form and ends a line, so SMTP can bring each to DATA's form
    on its own."""

    envelope_from: str
    recipients: tuple[str, ...]
    pieces: tuple[bytes | Base64Lines, ...]

    @property
    def size(self) -> int:
        return sum(map(len, self.pieces))

    @property
    def data(self) -> bytes:
        """The whole message (a copy: for a test, or the SES stand-in's inbox)."""
        return b"".join(piece.data if isinstance(piece, Base64Lines) else piece for piece in self.pieces)


def build_message(
    request: EmailRequest,
    *,
    dispatch_id: str,
    sender: Sender,
    now: datetime,
    unsubscribe_headers: Mapping[str, str] | None = None,
    recipients: tuple[Mailbox, ...] | None = None,
    attachments: Sequence[AttachmentContent] = (),
) -> BuiltMessage:
    """`recipients` narrows the envelope (suppressed addresses dropped); headers name only them.

    Attachments that break a rule of `attachment_violations` raise InvalidArgument naming the field."""
    parts = [attachment.metadata for attachment in attachments]
    require(attachment_violations(parts))
    kept = set(m.address for m in (recipients if recipients is not None else request.recipients))
    head = _header_block(
        request,
        kept,
        dispatch_id=dispatch_id,
        sender=sender,
        date=format_datetime(now),
        message_id=make_msgid(domain=_message_id_domain(sender)),
        unsubscribe_headers=unsubscribe_headers,
    )
    encoded = [_lines_of(attachment) for attachment in attachments]
    body = _entity(request, parts, _text_part, encoded)
    envelope = tuple(m.address for m in request.recipients if m.address in kept)
    return BuiltMessage(sender.address, envelope, (head, *body))  # type: ignore[arg-type]  # no int pieces


def message_size_bound(
    request: EmailRequest,
    *,
    sender: Sender,
    attachments: Sequence[AttachmentMetadata] = (),
    unsubscribe_headers: Mapping[str, str] | None = None,
) -> int:
    """The most bytes `build_message` writes for this request, without the attachments' content.

    Exact but for the Message-ID, counted at its longest (a few dozen bytes over at most). The
    bodies are encoded, as building them would (a batch that repeats a body encodes it once);
    the parts are counted from their metadata. All of the request's recipients are counted:
    the message without suppressed ones is no longer. Pass the `unsubscribe_headers` the worker
    adds, for the longest recipient address (the token grows with it)."""
    require(attachment_violations(attachments))
    head = _header_block(
        request,
        {m.address for m in request.recipients},
        dispatch_id=_A_DISPATCH_ID,
        sender=sender,
        date=format_datetime(_ANY_DATE),
        message_id=f"<{_LONGEST_MSGID_LOCAL_PART}@{_message_id_domain(sender)}>",
        unsubscribe_headers=unsubscribe_headers,
    )
    body = _entity(request, attachments, _text_part_size, [base64_lines_size(part.size) for part in attachments])
    return len(head) + sum(piece if isinstance(piece, int) else len(piece) for piece in body)


def _header_block(
    request: EmailRequest,
    kept: set[str],
    *,
    dispatch_id: str,
    sender: Sender,
    date: str,
    message_id: str,
    unsubscribe_headers: Mapping[str, str] | None,
) -> bytes:
    lines = [_list_header("From", [_address(Mailbox(sender.address, sender.name), "from_address")])]
    for name, mailboxes in (("To", request.to), ("Cc", request.cc)):
        addresses = [_address(m, f"{name.lower()}[{i}]") for i, m in enumerate(mailboxes) if m.address in kept]
        lines += [_list_header(name, addresses)] if addresses else []
    if request.reply_to is not None:
        lines.append(_list_header("Reply-To", [_address(request.reply_to, "reply_to")]))
    lines.append(_text_header("Subject", _safe(request.subject, "subject")))
    lines.append(f"Date: {date}")
    lines.append(f"Message-ID: {message_id}")
    lines.append(f"{DISPATCH_ID_HEADER}: {_safe(dispatch_id, 'dispatch_id')}")
    # SES puts message tags into every feedback event: the dispatch id rides along even when the
    # notifications leave the original headers out.
    tags = ((DISPATCH_ID_TAG, dispatch_id), *request.tags)
    lines.append(_list_header(SES_TAGS_HEADER, [f"{name}={value}" for name, value in tags]))
    lines += [
        f"{name}: {_safe(value, field_name)}"
        for name, value, field_name in (
            (CONFIGURATION_SET_HEADER, sender.configuration_set, "ses_configuration_set"),
            (TENANT_HEADER, sender.tenant, "ses_tenant"),
        )
        if value
    ]
    if (list_id := list_id_value(request, sender.address)) is not None:
        lines.append(f"{LIST_ID_HEADER}: {list_id}")
    lines += [_text_header(name, _safe(value, f"headers[{name}]")) for name, value in request.headers]
    lines += [_verbatim_header(name, value) for name, value in (unsubscribe_headers or {}).items()]
    lines.append("MIME-Version: 1.0")
    return (_CRLF.join(lines) + _CRLF).encode("ascii")


def _message_id_domain(sender: Sender) -> str:
    return domain_of(sender.address) or "postroom.invalid"


def _address(mailbox: Mailbox, field_name: str) -> str:
    _safe(mailbox.address, f"{field_name}.address")
    _safe(mailbox.name, f"{field_name}.name")
    # formataddr quotes specials and RFC 2047-encodes a non-ASCII display name.
    return formataddr((mailbox.name, mailbox.address), charset="utf-8")


def _list_header(name: str, items: list[str]) -> str:
    """`Name: a, b, c`, folded between items (never inside one)."""
    line, lines = f"{name}: {items[0]}", []
    for item in items[1:]:
        if len(line) + len(item) + 2 > _FOLD_AT:
            lines.append(line + ",")
            line = f" {item}"
        else:
            line += f", {item}"
    return _CRLF.join([*lines, line])


def _text_header(name: str, value: str) -> str:
    if value.isascii() and len(name) + len(value) + 2 <= _FOLD_AT:
        return f"{name}: {value}"
    # RFC 2047 encoded words for non-ASCII, folding for long ASCII: spaces and emoji survive.
    charset = "us-ascii" if value.isascii() else "utf-8"
    return f"{name}: " + Header(value, charset, header_name=name).encode(linesep=_CRLF, maxlinelen=_FOLD_AT)


def _verbatim_header(name: str, value: str) -> str:
    """A header exactly as given, folded only between list elements.

    Folding would otherwise turn a long unsubscribe URL, which cannot fit in 78 columns, into
    an RFC 2047 encoded word that no mail client reads as a URL. Lines may be 998 long."""
    _safe(value, name)
    if not (value.isascii() and HEADER_NAME.fullmatch(name)) or len(name) + len(value) + 2 > _MAX_LINE:
        raise UnsafeHeader(name)
    return f"{name}: " + f",{_CRLF} ".join(part.strip() for part in value.split(","))


def _entity(
    request: EmailRequest,
    parts: Sequence[AttachmentMetadata],
    text_part: Callable[[str, str], Piece],
    contents: Sequence[Piece],
) -> list[Piece]:
    """The message's MIME entity: its top Content-Type onwards."""
    body = _text_entity(request, text_part)
    inline = [_file_part(part, "inline", content) for part, content in zip(parts, contents) if part.inline]
    regular = [_file_part(part, "attachment", content) for part, content in zip(parts, contents) if not part.inline]
    if inline:
        # RFC 2387: `type` names the root part, the body the inline parts belong to.
        root_type = (
            "multipart/alternative"
            if request.text_body and request.html_body
            else f"text/{'plain' if request.text_body else 'html'}"
        )
        body = _multipart("related", [body, *inline], root_type=root_type)
    if regular:
        body = _multipart("mixed", [body, *regular])
    return body


def _text_entity(request: EmailRequest, text_part: Callable[[str, str], Piece]) -> list[Piece]:
    if request.text_body and request.html_body:
        return _multipart(
            "alternative", [[text_part("plain", request.text_body)], [text_part("html", request.html_body)]]
        )
    return [text_part("plain" if request.text_body else "html", request.text_body or request.html_body)]


def _multipart(subtype: str, entities: list[list[Piece]], *, root_type: str = "") -> list[Piece]:
    boundary = f"=_postroom_{os.urandom(12).hex()}"  # "=_" occurs in neither base64 nor quoted-printable
    type_parameter = f';{_CRLF} type="{root_type}"' if root_type else ""
    pieces: list[Piece] = [
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"{type_parameter}{_CRLF}{_CRLF}'.encode("ascii")
    ]
    for entity in entities:
        pieces += [f"--{boundary}{_CRLF}".encode("ascii"), *entity, _CRLF.encode("ascii")]
    pieces.append(f"--{boundary}--{_CRLF}".encode("ascii"))
    return pieces


def _file_part(part: AttachmentMetadata, disposition: str, content: Piece) -> list[Piece]:
    lines = [
        _parameterized("Content-Type", part.media_type, [_name_parameter(part.filename)]),
        "Content-Transfer-Encoding: base64",
        _parameterized("Content-Disposition", disposition, _filename_parameters(part.filename)),
    ]
    if part.content_id:
        lines.append(f"Content-ID: <{part.content_id}>")
    return [(_CRLF.join(lines) + _CRLF + _CRLF).encode("ascii"), content]


def _parameterized(name: str, value: str, parameters: list[str]) -> str:
    """Each parameter on a line of its own: a long file name never pushes another past the limit."""
    return f"{name}: {value}" + "".join(f";{_CRLF} {parameter}" for parameter in parameters)


def _name_parameter(filename: str) -> str:
    """Content-Type's `name`, for clients older than RFC 2231's `filename*`.

    RFC 2047 forbids encoded words inside a quoted string, but the clients that read `name` at
    all read them there (and Thunderbird, Gmail and Outlook write them so); RFC 2231 `name*`
    would be lost on exactly the clients this parameter is for."""
    if _plain(filename):
        return f'name="{_quoted(filename)}"'
    return 'name="' + f"{_CRLF} ".join(_encoded_words(filename)) + '"'


def _filename_parameters(filename: str) -> list[str]:
    """Content-Disposition's file name: quoted when plain ASCII, else RFC 2231 UTF-8, in
    continuations (`filename*0*`, `filename*1*`, ...) when long."""
    if _plain(filename):
        return [f'filename="{_quoted(filename)}"']
    segments, segment = [], "utf-8''"
    for char in filename:  # a segment ends between characters, never inside one's %XX run
        encoded = _percent_encoded(char)
        if len(segment) + len(encoded) > _PARAMETER_VALUE_CHARS:
            segments.append(segment)
            segment = ""
        segment += encoded
    segments.append(segment)
    if len(segments) == 1:
        return [f"filename*={segments[0]}"]
    return [f"filename*{index}*={value}" for index, value in enumerate(segments)]


def _plain(filename: str) -> bool:
    """ASCII that a quoted string carries alike to every parser: no "=?" (an encoded word to lenient
    ones), and not wrapped in quotes or angle brackets (which some, Python's among them, strip twice)."""
    wrapped = filename[:1] + filename[-1:] in ('""', "<>")
    return filename.isascii() and "=?" not in filename and not wrapped


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


# RFC 2231 attribute-char: US-ASCII except space, controls, "*", "'", "%" and the RFC 2045 tspecials.
_ATTRIBUTE_CHARS = frozenset(string.ascii_letters + string.digits + "!#$&+-.^_`{|}~")


def _percent_encoded(char: str) -> str:
    if char in _ATTRIBUTE_CHARS:
        return char
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 base64 words, split between characters, each at most _ENCODED_WORD_BYTES of UTF-8."""
    chunks, chunk = [], b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _ENCODED_WORD_BYTES:
            chunks.append(chunk)
            chunk = b""
        chunk += encoded
    chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=" for chunk in chunks]


def _lines_of(attachment: AttachmentContent) -> Base64Lines:
    """The lines the caller gave, when they are as long as the content's (a stale encoding is not)."""
    given = attachment.encoded
    if given is not None and len(given) == base64_lines_size(len(attachment.content)):
        return given
    return base64_lines(attachment.content)


# The text parts last written: every email of a batch carries its body's one part (a piece shared
# by reference, not 100 KB of HTML for each email in hand), written once.
# Counted twice over: its key keeps the body alive, which is never larger than the part written from it.
_TEXT_PARTS: SizedCache[tuple[str, str], bytes] = SizedCache(8 * 1024 * 1024, lambda part: 2 * len(part))


def _text_part(subtype: str, text: str) -> bytes:
    return _TEXT_PARTS.get_or_make((subtype, text), lambda: _part(subtype, text).encode("ascii"))


@functools.lru_cache(maxsize=4)  # holds at most four bodies alive: a batch's text and HTML, twice over
def _text_part_size(subtype: str, text: str) -> int:
    return len(_part(subtype, text))


def _part(subtype: str, text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii() and all(len(line) <= _MAX_LINE for line in text.split("\n")):
        encoding, content = "7bit", text.replace("\n", _CRLF)
    else:
        # 7-bit all the way: a server without 8BITMIME (or SES's own 7-bit conversion, which the
        # product page warns about) cannot mangle quoted-printable.
        encoding = "quoted-printable"
        content = quoprimime.body_encode(text.encode("utf-8").decode("latin-1"), eol=_CRLF)  # bytes as chars
    if not content.endswith(_CRLF):
        content += _CRLF
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{_CRLF}Content-Transfer-Encoding: {encoding}{_CRLF}'
        f"{_CRLF}{content}"
    )


def _safe(value: str, field_name: str) -> str:
    # The request was validated already; this guards every other path (a provider's From name,
    # an event written by an older version) because one stray LF is a header injection.
    if any(ch in value for ch in _LINE_BREAKS):
        raise UnsafeHeader(field_name)
    return value
