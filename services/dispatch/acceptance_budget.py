"""A bound on the emails one dispatch process is accepting at once (SendEmail and SendEmailBatch).

An email being accepted holds its request in our own form, its EmailQueued and the event's bytes
until the event is durable: about 3.5 KB an email beside the request gRPC has already parsed. Ten
batches of a thousand arriving together held them all at once (dispatch's peak under
bench/dispatch.py). Past the budget, a call waits its turn, in the order the calls came, and is
answered as it would have been; a batch larger than the whole budget goes when it is alone.
Room is given back without awaiting anything, so a call cancelled at any point never keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable


class AcceptanceBudget:
    def __init__(self, capacity: int, on_wait: Callable[[], object] = lambda: None) -> None:
        """`on_wait` is called for each call that has to wait its turn."""
        self.capacity = max(1, capacity)
        self.on_wait = on_wait
        self.used = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @contextlib.asynccontextmanager
    async def holding(self, emails: int) -> AsyncIterator[None]:
        emails = min(max(1, emails), self.capacity)
        if self._waiting or self.used + emails > self.capacity:
            await self._wait_for_room(emails)
        else:
            self.used += emails
        try:
            yield
        finally:
            self.used -= emails
            self._let_in()

    async def _wait_for_room(self, emails: int) -> None:
        self.on_wait()
        granted = asyncio.get_running_loop().create_future()
        self._waiting.append((emails, granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.cancelled():
                with contextlib.suppress(ValueError):  # unless the queue has dropped it already
                    self._waiting.remove((emails, granted))
            else:
                self.used -= emails  # let in just as it was cancelled: the room goes to the next
            self._let_in()
            raise

    def _let_in(self) -> None:
        """The longest waiting first, as many as fit; one that does not fit yet holds the rest back."""
        while self._waiting:
            emails, granted = self._waiting[0]
            if granted.cancelled():  # its call went away while it waited
                self._waiting.popleft()
                continue
            if self.used + emails > self.capacity:
                return
            self._waiting.popleft()
            self.used += emails
            granted.set_result(None)
