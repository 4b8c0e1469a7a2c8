"""Work a service does every so often, for as long as it runs (polls of SES, sweeps, heartbeats).

A round that fails (the log or the read model is away, SES does not answer) is logged and the
next round comes as planned: periodic work never stops a service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(
    seconds: float, work: Callable[[], Awaitable[object]], what: str, *, first_at_once: bool = False
) -> None:
    """`work()` every `seconds`: after the first wait, or at once first when `first_at_once`."""
    if not first_at_once:
        await asyncio.sleep(seconds)
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning(f"{what} did not finish; next round in {seconds:g} s", extra={"error": repr(error)})
        await asyncio.sleep(seconds)
