"""A handler's point of no return: from there on, a graceful stop lets it finish rather than cancel it.

A send whose message SES may already hold is such a case: cancelling it then undoes nothing, it
only loses the record of the send, and another replica sends the email again. The worker watches
each handler's task (`watching`); code deep in the handler says when the point is passed
(`passed`), in the task or in any task it starts, and `not_passed` when it turned out otherwise.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass


@dataclass
class PointOfNoReturn:
    passed: bool = False


_current: contextvars.ContextVar[PointOfNoReturn | None] = contextvars.ContextVar(
    "postroom_point_of_no_return", default=None
)


def watching(point: PointOfNoReturn) -> contextvars.Context:
    """A context to run a handler's task in (`asyncio.create_task(..., context=)`), watched by `point`."""
    context = contextvars.copy_context()
    context.run(_current.set, point)
    return context


def passed() -> None:
    """The work in hand can no longer be undone by cancelling it (outside a watched task, nothing).
    Refused with CancelledError while a cancel is pending on the task: one that Python 3.11's
    wait_for swallowed as the reply it awaited landed (gh-86296) means a stop is putting this work
    back, so nothing irreversible may start now."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()
    _set(True)


def not_passed() -> None:
    """It turned out nothing irreversible was done (SES refused the message): cancelling is safe again."""
    _set(False)


def _set(passed: bool) -> None:
    point = _current.get()
    if point is not None:
        point.passed = passed
