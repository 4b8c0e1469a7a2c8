"""Asks made in the same turn of the event loop, answered together by one call.

Hundreds of concurrent requests each want one small read (a suppression look-up per send, a
delivery context per SNS POST); one query or one thread hop for all that are ready costs little
more than for one. Each asker gets its own answer, or its own error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class PerTurn(Generic[T, R]):
    def __init__(self, answer_all: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]) -> None:
        """`answer_all(items)` gives one result per item, in order; an exception instance among the
        results is raised to that item's asker alone, an exception raised to all of the turn's."""
        self.answer_all = answer_all
        self._asked: list[tuple[T, asyncio.Future[R]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def ask(self, item: T) -> R:
        answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._asked.append((item, answer))
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush())
        return await answer

    async def settle(self) -> None:
        """Until everything asked so far has its answer."""
        if self._flushing is not None:
            await asyncio.shield(self._flushing)

    async def _flush(self) -> None:
        try:
            while self._asked:
                await asyncio.sleep(0)  # every asker that is ready asks first
                asked, self._asked = self._asked, []
                try:
                    results: Sequence[R | BaseException] = await self.answer_all([item for item, _ in asked])
                except Exception as error:
                    results = [error] * len(asked)
                for (_, answer), result in zip(asked, results):
                    if answer.done():  # its asker was cancelled meanwhile
                        continue
                    if isinstance(result, BaseException):
                        answer.set_exception(result)
                    else:
                        answer.set_result(result)
        finally:
            self._flushing = None
