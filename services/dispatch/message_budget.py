"""A bound on the bytes of email content one dispatch process holds at once.

Each email in hand holds its content and the message built from it (attachments base64-encoded
take four thirds of their size) until SES has answered. With two hundred sends in flight and 1 MB
attachments, that alone was half a gigabyte. An email waits here for room before its content is
read; one larger than the whole budget goes when it is the only one in hand.

Content that emails share (a batch's attachment, cached with its base64 lines by EmailContent) is
held once whatever the number of emails carrying it, but is counted for each: the budget is a
bound, not an estimate.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from services.dispatch.content import ContentRefs

ENCODED_FACTOR = 1.4  # base64 (4/3) and MIME line breaks, with the content itself beside it
OVERHEAD_BYTES = 16 * 1024  # headers and boundaries


def bytes_in_hand(refs: ContentRefs) -> int:
    """What an email will hold while it is sent: its content and the message built from it."""
    sizes = [ref.size for ref in (refs.text, refs.html) if ref is not None] + [p.content.size for p in refs.parts]
    return int(sum(sizes) * (1 + ENCODED_FACTOR)) + OVERHEAD_BYTES


class MessageBudget:
    """Room is given back without awaiting anything, so a send cancelled at any point (a stopping
    worker puts its mail back) never keeps its share."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._waiting: list[asyncio.Future[None]] = []

    @contextlib.asynccontextmanager
    async def holding(self, size: int) -> AsyncIterator[None]:
        size = min(size, self.capacity)
        while self.used + size > self.capacity:
            woken = asyncio.get_running_loop().create_future()
            self._waiting.append(woken)
            try:
                await woken
            finally:
                self._waiting.remove(woken)
        self.used += size
        try:
            yield
        finally:
            self.used -= size
            for woken in self._waiting:  # each looks again whether it fits now
                if not woken.done():
                    woken.set_result(None)
