"""The dispatch read model's queries: what the API and the workers read."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Iterable

from sqlalchemy import and_, select, tuple_

from services.core.live_engine import LiveEngine
from services.dispatch.projection.dispatches import dispatches
from services.dispatch.projection.providers import provider_pauses, providers
from services.dispatch.projection.ses_receipts import ses_receipts
from services.dispatch.projection.suppressions import as_utc, suppressions
from services.core.suppression_rule import SuppressionEntry

_IN_CHUNK = 500   # bound parameters per query, well under SQLite's and PostgreSQL's limits


class SuppressionChecks:
    """Coalesces the look-ups of concurrent sends: one query per event-loop turn, not one per email."""

    def __init__(self, read_model: "DispatchReadModel") -> None:
        self.read_model = read_model
        self._waiting: dict[str, list[tuple[list[str], asyncio.Future]]] = defaultdict(list)
        self._flushing = False

    async def entries(self, account_id: str, hashes: list[str]) -> dict[str, list[SuppressionEntry]]:
        answer = asyncio.get_running_loop().create_future()
        self._waiting[account_id].append((hashes, answer))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await answer

    async def _flush(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(0)             # let every ready sender add its recipients
                waiting, self._waiting = self._waiting, defaultdict(list)
                for account_id, items in waiting.items():
                    await self._answer(account_id, items)
        finally:
            self._flushing = False

    async def _answer(self, account_id: str, items: list[tuple[list[str], asyncio.Future]]) -> None:
        try:
            found = await self.read_model.suppression_entries(account_id, (h for hashes, _ in items for h in hashes))
        except Exception as error:
            for _, answer in items:
                answer.set_exception(error)
            return
        for hashes, answer in items:
            answer.set_result({h: found[h] for h in hashes if h in found})


class DispatchReadModel:
    def __init__(self, engine: LiveEngine) -> None:
        self.engine = engine

    async def dispatch(self, dispatch_id: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(dispatches).where(dispatches.c.dispatch_id == dispatch_id))).mappings().first()
        return dict(row) if row else None

    async def provider(self, account_id: str, provider_id: str) -> tuple[dict[str, Any] | None, str]:
        """The provider's row and, when it is paused, why."""
        join = providers.outerjoin(provider_pauses, and_(
            provider_pauses.c.account_id == providers.c.account_id,
            provider_pauses.c.provider_id == providers.c.provider_id))
        query = select(providers, provider_pauses.c.paused_seq, provider_pauses.c.reason).select_from(join).where(
            providers.c.account_id == account_id, providers.c.provider_id == provider_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None, ""
        paused = (row["paused_seq"] or 0) > row["saved_seq"]
        return dict(row), (row["reason"] if paused else "")

    async def ses_receipt(self, dispatch_id: str) -> dict[str, Any] | None:
        """SES's feedback about this dispatch, if any has arrived: proof that it was sent."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(ses_receipts).where(ses_receipts.c.dispatch_id == dispatch_id))).mappings().first()
        return dict(row) if row else None

    async def suppression_entries(self, account_id: str, hashes: Iterable[str]) -> dict[str, list[SuppressionEntry]]:
        wanted = sorted(set(hashes))
        found: dict[str, list[SuppressionEntry]] = defaultdict(list)
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                query = select(suppressions.c.recipient_hash, suppressions.c.reason, suppressions.c.list_id,
                               suppressions.c.since).where(
                    suppressions.c.account_id == account_id,
                    suppressions.c.recipient_hash.in_(wanted[start:start + _IN_CHUNK]))
                for recipient_hash, reason, list_id, since in (await conn.execute(query)).all():
                    found[recipient_hash].append(SuppressionEntry(reason, list_id, as_utc(since)))
        return found

    async def list_suppressions(self, account_id: str, page_size: int, after: tuple[str, str, str, str] | None
                                ) -> list[dict[str, Any]]:
        key = tuple_(suppressions.c.recipient_hash, suppressions.c.list_id, suppressions.c.reason)
        query = select(suppressions).where(suppressions.c.account_id == account_id)
        if after:
            query = query.where(key > tuple_(*after[1:]))
        query = query.order_by(suppressions.c.recipient_hash, suppressions.c.list_id, suppressions.c.reason)
        async with self.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(query.limit(page_size))).mappings()]
