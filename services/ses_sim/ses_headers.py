"""The headers SES reads and removes before it sends a message: `X-SES-CONFIGURATION-SET` and
`X-SES-TENANT`. Pure.

They are removed from the raw bytes, line by line (a folded header with its continuation lines), so
the rest of the message, attachments included, stays byte for byte what the client sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.core.ses_headers import CONFIGURATION_SET_HEADER, TENANT_HEADER

_CONSUMED = (CONFIGURATION_SET_HEADER.lower(), TENANT_HEADER.lower())
_LINE = re.compile(rb"[^\n]*\n|[^\n]+")


@dataclass(frozen=True)
class SesHeaders:
    configuration_set: str | None = None
    tenant: str | None = None


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    """The header lines (with their line endings) and everything from the blank line on."""
    lines, offset = [], 0
    for match in _LINE.finditer(data):
        line = match.group()
        if line in (b"\r\n", b"\n"):
            break
        lines.append(line)
        offset = match.end()
    return lines, data[offset:]


def _fields(lines: list[bytes]) -> list[tuple[str, list[bytes]]]:
    """Each header's lower-cased name with its physical lines (continuations folded in)."""
    fields: list[tuple[str, list[bytes]]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1].append(line)
        else:
            fields.append((line.partition(b":")[0].strip().decode("latin-1").lower(), [line]))
    return fields


def _value(physical: list[bytes]) -> str:
    text = b"".join(physical).partition(b":")[2].decode("utf-8", errors="replace")
    return " ".join(text.split())


def read_ses_headers(data: bytes) -> SesHeaders:
    found: dict[str, str] = {}
    for name, physical in _fields(_split(data)[0]):
        if name in _CONSUMED:
            found.setdefault(name, _value(physical))
    return SesHeaders(found.get(_CONSUMED[0]) or None, found.get(_CONSUMED[1]) or None)


def without_ses_headers(data: bytes) -> bytes:
    lines, rest = _split(data)
    kept = [line for name, physical in _fields(lines) if name not in _CONSUMED for line in physical]
    return b"".join(kept) + rest
