"""Building the MIME message SES receives (pure): safe headers, RFC 2047, one-click unsubscribe.

Written directly rather than through `email.message.EmailMessage`: its header registry parses
and refolds every header, which cost more CPU per email than the whole SMTP exchange. The
pieces that need care still come from the standard library: `email.header.Header` for RFC 2047
encoded words, `formataddr` for display names, `quoprimime` for quoted-printable bodies; the
unit tests parse every message back with the `email` package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from email import quoprimime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid

from services.core.email_address import domain_of
from services.dispatch.domain import DISPATCH_ID_TAG, HEADER_NAME, EmailRequest, Mailbox

DISPATCH_ID_HEADER = "X-Postroom-Dispatch-Id"   # the feedback service ties SES bounces back through it
SES_TAGS_HEADER = "X-SES-MESSAGE-TAGS"
_CRLF = "\r\n"
_LINE_BREAKS = ("\r", "\n")
_FOLD_AT = 78                                    # RFC 5322 2.1.1: lines SHOULD be at most 78 characters
_MAX_LINE = 998                                  # ...and MUST be at most 998


class UnsafeHeader(ValueError):
    """A header value or address carries a line break: it could inject headers."""

    def __init__(self, field_name: str) -> None:
        super().__init__(f"{field_name} must not contain CR or LF")
        self.field_name = field_name


@dataclass(frozen=True)
class Sender:
    address: str
    name: str = ""


@dataclass(frozen=True)
class BuiltMessage:
    envelope_from: str
    recipients: tuple[str, ...]
    data: bytes


def build_message(request: EmailRequest, *, dispatch_id: str, sender: Sender, now: datetime,
                  unsubscribe_headers: dict[str, str] | None = None,
                  recipients: tuple[Mailbox, ...] | None = None) -> BuiltMessage:
    """`recipients` narrows the envelope (suppressed addresses dropped); headers name only them."""
    kept = set(m.address for m in (recipients if recipients is not None else request.recipients))
    lines = [_list_header("From", [_address(Mailbox(sender.address, sender.name), "from_address")])]
    for name, mailboxes in (("To", request.to), ("Cc", request.cc)):
        addresses = [_address(m, f"{name.lower()}[{i}]") for i, m in enumerate(mailboxes) if m.address in kept]
        lines += [_list_header(name, addresses)] if addresses else []
    if request.reply_to is not None:
        lines.append(_list_header("Reply-To", [_address(request.reply_to, "reply_to")]))
    lines.append(_text_header("Subject", _safe(request.subject, "subject")))
    lines.append(f"Date: {format_datetime(now)}")
    lines.append(f"Message-ID: {make_msgid(domain=domain_of(sender.address) or 'postroom.invalid')}")
    lines.append(f"{DISPATCH_ID_HEADER}: {_safe(dispatch_id, 'dispatch_id')}")
    # SES puts message tags into every feedback event: the dispatch id rides along even when the
    # notifications leave the original headers out.
    tags = ((DISPATCH_ID_TAG, dispatch_id), *request.tags)
    lines.append(_list_header(SES_TAGS_HEADER, [f"{name}={value}" for name, value in tags]))
    lines += [_text_header(name, _safe(value, f"headers[{name}]")) for name, value in request.headers]
    lines += [_verbatim_header(name, value) for name, value in (unsubscribe_headers or {}).items()]
    lines.append("MIME-Version: 1.0")
    data = _CRLF.join(lines) + _CRLF + _body(request)
    envelope = tuple(m.address for m in request.recipients if m.address in kept)
    return BuiltMessage(sender.address, envelope, data.encode("ascii"))


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


def _body(request: EmailRequest) -> str:
    if request.text_body and request.html_body:
        boundary = f"=_postroom_{os.urandom(12).hex()}"
        parts = [_part("plain", request.text_body), _part("html", request.html_body)]
        return (f'Content-Type: multipart/alternative; boundary="{boundary}"{_CRLF}{_CRLF}'
                + "".join(f"--{boundary}{_CRLF}{part}{_CRLF}" for part in parts) + f"--{boundary}--{_CRLF}")
    return _part("plain" if request.text_body else "html", request.text_body or request.html_body)


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
    return (f'Content-Type: text/{subtype}; charset="utf-8"{_CRLF}Content-Transfer-Encoding: {encoding}{_CRLF}'
            f"{_CRLF}{content}")


def _safe(value: str, field_name: str) -> str:
    # The request was validated already; this guards every other path (a provider's From name,
    # an event written by an older version) because one stray LF is a header injection.
    if any(ch in value for ch in _LINE_BREAKS):
        raise UnsafeHeader(field_name)
    return value
