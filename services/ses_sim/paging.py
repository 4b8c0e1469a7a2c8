"""SES's list paging: `PageSize` items at a time and an opaque `NextToken` for the rest. Pure.

A token names the last key of the page it ends, not an offset, so an item deleted or added between two
calls neither repeats another nor hides one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from services.ses_sim.errors import InvalidNextToken, InvalidValue

Item = TypeVar("Item")

_TOKEN_PREFIX = "ses-sim:1:"


def _token_after(key: str) -> str:
    return base64.urlsafe_b64encode((_TOKEN_PREFIX + key).encode()).decode("ascii")


def _key_of(token: str) -> str:
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidNextToken() from None
    if not text.startswith(_TOKEN_PREFIX):
        raise InvalidNextToken()
    return text.removeprefix(_TOKEN_PREFIX)


def page_size_of(value: int | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise InvalidValue("PageSize", f"PageSize must be a whole number from 1 to {maximum}, not {value!r}.")
    return value


def one_page(
    items: Sequence[Item], key: Callable[[Item], str], page_size: int, next_token: str | None
) -> tuple[list[Item], str | None]:
    """The page of `items` (sorted by `key`) that `next_token` starts, and the token for the page after it."""
    ordered = sorted(items, key=key)
    if next_token:
        after = _key_of(next_token)
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:page_size]
    more = len(ordered) > page_size
    return page, (_token_after(key(page[-1])) if more else None)
