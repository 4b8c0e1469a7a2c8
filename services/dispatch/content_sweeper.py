"""Removes content from the content store once no dispatch needs it (see content.removable):
after its dispatches' outcomes plus the retention, and orphans (content no EmailQueued names).

Every replica sweeps; removing twice is harmless. A sweep decides only once the read model
covers the whole stream as it was when the sweep began, so no reference appended before is missed.
"""

from __future__ import annotations

import logging
import time

from services.core.periodic import every
from services.dispatch.content import removable
from services.dispatch.context import DispatchContext

log = logging.getLogger(__name__)

READ_MODEL_WAIT_SECONDS = 30.0


class ContentSweeper:
    def __init__(self, context: DispatchContext) -> None:
        self.context = context
        settings = context.settings
        self.retention = settings.content_retention_days * 86400.0
        self.orphan_grace = settings.content_orphan_grace
        self.interval = settings.content_sweep_interval

    async def run(self) -> None:
        await every(self.interval, self.sweep, "content sweep", first_at_once=True)

    async def sweep(self) -> list[str]:
        """One pass; the digests it removed."""
        store, read_model = self.context.content.store, self.context.read_model
        held = await store.list()
        if not held:
            return []
        last = await self.context.store.patiently(self.context.store.last_sequence, READ_MODEL_WAIT_SECONDS)
        if not await self.context.runner.wait_for(last, READ_MODEL_WAIT_SECONDS):
            return []
        holds = await read_model.content_holds(item.sha256 for item in held)
        now = time.time()
        removed = [
            item.sha256
            for item in held
            if removable(
                item.touched_at, holds.get(item.sha256), now, retention=self.retention, orphan_grace=self.orphan_grace
            )
        ]
        for digest in removed:
            await store.delete(digest)
        if removed:
            log.info("content removed", extra={"objects": len(removed)})
        return removed
