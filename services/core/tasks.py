"""Stopping background tasks for sure."""

from __future__ import annotations

import asyncio
from typing import Iterable


async def cancel_all(tasks: Iterable[asyncio.Task], recheck_seconds: float = 1.0) -> None:
    """Cancel the tasks and wait until every one has ended.

    Python 3.11's asyncio.wait_for can swallow a cancellation that races its own timeout
    (gh-86296), and drivers use it deep inside their calls; a task that survives one cancel
    gets another instead of hanging the shutdown."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=recheck_seconds)
