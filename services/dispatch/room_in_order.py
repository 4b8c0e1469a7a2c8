"""Room in a bounded budget, handed out in the order it was asked for.

A claim that does not fit yet holds back the claims behind it: were later, smaller claims let
past it whenever they fit, a steady stream of them would keep a large one waiting for ever (an
email with a large attachment among a campaign's small ones). Room is given back without
awaiting anything, so a holder cancelled at any point, waiting or holding, never keeps it.
A holder must not ask again while it holds room: behind a waiting claim, it would wait for itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

C = TypeVar("C")


class RoomInOrder(ABC, Generic[C]):
    def __init__(self, on_wait: Callable[[], object] = lambda: None) -> None:
        """`on_wait` is called for each claim that has to wait its turn."""
        self.on_wait = on_wait
        self._waiting: deque[tuple[C, asyncio.Future[None]]] = deque()

    @abstractmethod
    def _fits(self, claim: C) -> bool: ...

    @abstractmethod
    def _take(self, claim: C) -> None: ...

    @abstractmethod
    def _give_back(self, claim: C) -> None: ...

    def holding(self, claim: C) -> contextlib.AbstractAsyncContextManager[None]:
        return self._holding(claim)

    @contextlib.asynccontextmanager
    async def _holding(self, claim: C) -> AsyncIterator[None]:
        if self._waiting or not self._fits(claim):
            await self._wait_for_room(claim)
        else:
            self._take(claim)
        try:
            yield
        finally:
            self._give_back(claim)
            self._let_in()

    async def _wait_for_room(self, claim: C) -> None:
        self.on_wait()
        granted = asyncio.get_running_loop().create_future()
        entry = (claim, granted)
        self._waiting.append(entry)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.cancelled():
                with contextlib.suppress(ValueError):  # unless the line has dropped it already
                    self._waiting.remove(entry)
            else:
                self._give_back(claim)  # let in just as it was cancelled: the room goes to the next
            self._let_in()
            raise

    def _let_in(self) -> None:
        """The longest waiting first, as many as fit; one that does not fit yet holds the rest back."""
        while self._waiting:
            claim, granted = self._waiting[0]
            if granted.cancelled():  # its holder went away while it waited
                self._waiting.popleft()
                continue
            if not self._fits(claim):
                return
            self._waiting.popleft()
            self._take(claim)
            granted.set_result(None)
