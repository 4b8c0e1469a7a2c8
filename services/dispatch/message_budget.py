"""A bound on the bytes of email content one dispatch process holds at once.

Each email in hand holds its content and the message built from it (attachments base64-encoded
take four thirds of their size) until SES has answered. With two hundred sends in flight and 1 MB
attachments, that alone was half a gigabyte. An email waits here for room before its content is
read; one larger than the whole budget goes when it is the only one in hand.
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
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def holding(self, size: int) -> AsyncIterator[None]:
        size = min(size, self.capacity)
        async with self._changed:
            await self._changed.wait_for(lambda: self.used + size <= self.capacity)
            self.used += size
        try:
            yield
        finally:
            async with self._changed:
                self.used -= size
                self._changed.notify_all()
