"""Email address and header-value checks shared by every service (pure)."""

from __future__ import annotations

import re

MAX_ADDRESS_LENGTH = 254
# RFC 5321/5322 dot-atom local part and an LDH domain with at least one dot; quoted local parts
# and address literals are legal but no SES sender or real recipient needs them.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def address_problem(value: str) -> str | None:
    """Why `value` is not a usable mailbox address, or None when it is."""
    if not value:
        return "is required"
    if _CONTROL.search(value):
        return "must not contain line breaks or control characters"
    if len(value) > MAX_ADDRESS_LENGTH:
        return f"must be at most {MAX_ADDRESS_LENGTH} characters"
    if not _ADDRESS.fullmatch(value):
        return "is not a valid email address (expected name@example.com)"
    return None


def text_problem(value: str, *, max_length: int, required: bool = False) -> str | None:
    """Why a one-line text (a name, a header value) is not acceptable, or None."""
    if not value:
        return "is required" if required else None
    if _CONTROL.search(value):
        return "must not contain line breaks or control characters"
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    return None


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()
