"""The provider's send rate shared by every dispatch replica, through a JetStream KV bucket.

`rate_limit.py` holds the arithmetic; this module reads and compare-and-sets the state (one KV
entry per provider) and paces one process's sends with the tokens it was granted. Why a KV token
budget rather than per-replica shares or per-provider consumer ownership: see the dispatch README.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass

from nats.js import api as js_api
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from services.core.buckets import ReopenedBucket
from services.core.event_store import EventStore
from services.core.log_hiccups import Backoff, is_log_hiccup
from services.dispatch import rate_limit
from services.dispatch.metrics import RATE_CUTS, SEND_RATE, QUOTA_USED, QUOTA_REACHED
from services.dispatch.rate_limit import Grant, ProviderLimits, QuotaReached, RateState, Wait

log = logging.getLogger(__name__)

CAS_TRIES = 20
STATE_CACHE_SECONDS = 1.0


class QuotaExhausted(Exception):
    def __init__(self, reached: QuotaReached) -> None:
        super().__init__(reached.reason())
        self.reached = reached


def bucket_name(store: EventStore) -> str:
    return f"{store.stream}-dispatch-rates"


def rate_key(account_id: str, provider_id: str) -> str:
    """The provider's entry in the bucket (ids are subject-safe tokens, so the key is a valid KV key)."""
    return f"{account_id}.{provider_id}"


@dataclass
class _Entry:
    state: RateState
    revision: int  # 0: no entry yet
    read_at: float


class SharedRates:
    """Every provider's shared rate state, read and changed by compare-and-set."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.bucket = ReopenedBucket(
            store.js,
            js_api.KeyValueConfig(
                bucket=bucket_name(store),
                history=1,
                replicas=store.replicas,
                storage=js_api.StorageType.FILE,
                description="Postroom dispatch: each provider's shared send rate and daily quota use",
            ),
        )
        self._known: dict[str, _Entry] = {}

    async def reserve(self, key: str, needed: int, limits: ProviderLimits) -> Grant | Wait | QuotaReached:
        for _ in range(CAS_TRIES):
            entry = await self._entry(key)
            now = time.time()
            state, answer = rate_limit.reserve(entry.state, now, needed, limits)
            if not isinstance(answer, Grant):
                self._publish(key, entry.state, limits, now)
                return answer
            if await self._write(key, entry, state):
                self._publish(key, state, limits, now)
                return answer
        return Wait(time.time() + 0.05)  # contended: come back in a moment

    async def throttled(self, key: str) -> None:
        """SES said `454 Throttling`: cut the shared rate (once, however many replicas saw it)."""
        for _ in range(CAS_TRIES):
            entry = await self._entry(key, fresh=True)
            state = rate_limit.cut(entry.state, time.time())
            if state is None:
                return
            if await self._write(key, entry, state):
                RATE_CUTS.labels(key).inc()
                log.warning(
                    "shared send rate cut after a throttling answer",
                    extra={"provider": key, "factor": round(state.cut_factor, 3)},
                )
                return

    async def state_of(self, key: str) -> RateState:
        return (await self._entry(key)).state

    async def _entry(self, key: str, fresh: bool = False) -> _Entry:
        known = self._known.get(key)
        if known is not None and not fresh and time.monotonic() - known.read_at < STATE_CACHE_SECONDS:
            return known
        try:
            found = await self.bucket.use(lambda kv: kv.get(key))
            entry = _Entry(RateState.from_json(found.value), found.revision or 0, time.monotonic())
        except KeyNotFoundError:
            entry = _Entry(RateState(), 0, time.monotonic())
        self._known[key] = entry
        return entry

    async def _write(self, key: str, entry: _Entry, state: RateState) -> bool:
        """Compare-and-set; False (and the entry read again next time) when another replica wrote first."""
        try:
            if entry.revision:
                revision = await self.bucket.use(lambda kv: kv.update(key, state.to_json(), last=entry.revision))
            else:
                revision = await self.bucket.use(lambda kv: kv.create(key, state.to_json()))
        except KeyWrongLastSequenceError:
            self._known.pop(key, None)
            return False
        except Exception as error:
            # A create that lost the race answers "wrong last sequence" as a plain API error.
            if getattr(error, "err_code", None) in (10071, 10164):
                self._known.pop(key, None)
                return False
            raise
        self._known[key] = _Entry(state, revision, time.monotonic())
        return True

    def _publish(self, key: str, state: RateState, limits: ProviderLimits, now: float) -> None:
        SEND_RATE.labels(key).set(rate_limit.effective_rate(limits, state, now))
        QUOTA_USED.labels(key).set(rate_limit.used_last_day(state, now))
        QUOTA_REACHED.labels(key).set(1 if rate_limit.quota_reached(state, now, limits) else 0)


class ProviderPacer:
    """One process's sends to one provider, spent from tokens the shared state granted it.

    A send of n recipients takes n tokens and waits until the last of them is due; tokens are
    handed out in order, so the process's senders queue fairly; a block is reserved only when the
    tokens in hand run out."""

    def __init__(self, rates: SharedRates, key: str) -> None:
        self.rates = rates
        self.key = key
        self._due: collections.deque[float] = collections.deque()
        self._granted_at = 0.0  # when the tokens in hand were granted
        self._refilling = asyncio.Lock()

    async def acquire(self, recipients: int, limits: ProviderLimits) -> None:
        """Wait for `recipients` tokens; raise QuotaExhausted when SES's daily quota is used up."""
        async with self._refilling:
            self._forget_stale(time.time())
            while len(self._due) < recipients:
                await self._refill(recipients - len(self._due), limits)
            due = [self._due.popleft() for _ in range(recipients)]
        wait = due[-1] - time.time()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _refill(self, needed: int, limits: ProviderLimits) -> None:
        backoff = Backoff(first=0.2)
        while True:
            try:
                answer = await self.rates.reserve(self.key, needed, limits)
            except Exception as error:
                if not is_log_hiccup(error):
                    raise
                # The KV bucket is electing a leader: no tokens, so no sends, until it answers.
                await asyncio.sleep(backoff.next())
                continue
            if isinstance(answer, Grant):
                self._due.extend(answer.due_times())
                self._granted_at = time.time()
                return
            if isinstance(answer, QuotaReached):
                raise QuotaExhausted(answer)
            await asyncio.sleep(max(0.0, answer.until - time.time()))

    def _forget_stale(self, now: float) -> None:
        # Tokens granted a while ago and never spent (the sends went elsewhere) are not saved up
        # beyond the burst. (A fresh grant's tokens may be due in the past: that is the burst.)
        if self._due and self._granted_at < now - rate_limit.BURST_SECONDS:
            self._due.clear()
