"""A bound on the emails one dispatch process is accepting at once (SendEmail and SendEmailBatch).

An email being accepted holds its request in our own form, its EmailQueued and the event's bytes
until the event is durable: about 3.5 KB an email beside the request gRPC has already parsed. Ten
batches of a thousand arriving together held them all at once (dispatch's peak under
bench/dispatch.py). Past the budget, a call waits its turn, in the order the calls came, and is
answered as it would have been; a batch larger than the whole budget goes when it is alone.
Room is given back without awaiting anything, so a call cancelled at any point never keeps it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from services.dispatch.room_in_order import RoomInOrder


class AcceptanceBudget(RoomInOrder[int]):
    def __init__(self, capacity: int, on_wait: Callable[[], object] = lambda: None) -> None:
        """`on_wait` is called for each call that has to wait its turn."""
        super().__init__(on_wait)
        self.capacity = max(1, capacity)
        self.used = 0

    def holding(self, emails: int) -> contextlib.AbstractAsyncContextManager[None]:
        """A batch larger than the whole budget counts as the whole budget: it goes when alone."""
        return super().holding(min(max(1, emails), self.capacity))

    def _fits(self, emails: int) -> bool:
        return self.used + emails <= self.capacity

    def _take(self, emails: int) -> None:
        self.used += emails

    def _give_back(self, emails: int) -> None:
        self.used -= emails
