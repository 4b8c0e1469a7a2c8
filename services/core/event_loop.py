"""The event loop a service runs on: uvloop by default, asyncio's own with POSTROOM_EVENT_LOOP=asyncio.

uvloop paid in bench/dispatch.py (about a tenth less CPU per email, a tenth more emails a second,
baselines on the same loop); the choice stays a setting so a problem that only one loop shows can
be told apart in production by switching.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOPS = ("uvloop", "asyncio")


def run(main: Coroutine[Any, Any, T], loop: str = "uvloop") -> T:
    if loop not in LOOPS:
        main.close()
        raise SystemExit(f"POSTROOM_EVENT_LOOP={loop!r} is not one of {', '.join(LOOPS)}")
    if loop == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
