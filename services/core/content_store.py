"""Content beside the event log: a JetStream Object Store bucket whose objects are named by their SHA-256.

Events then carry references (hash, size, media type), not content: the same bytes stored twice
are one object, and the log grows by facts. Every call rides out the log's hiccups (a leader
election, a reconnect) like the event store's reads, for up to `patience` seconds, then raises
LogUnavailable. An object becomes visible only once all its chunks are written (its meta entry
is published last), so a put cut off midway leaves nothing that can be read.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Awaitable, Callable, TypeVar

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from services.core.buckets import bucket_is_gone
from services.core.event_store import EventStore, LogUnavailable
from services.core.log_hiccups import Backoff, is_log_hiccup

T = TypeVar("T")

REFERENCE_PREFIX = "sha256:"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_TOUCHED = "touched "
CHUNK_BYTES = 128 * 1024  # nats-py's default chunk
CHUNK_HEADROOM_BYTES = 4096  # of max_payload, for the chunk's subject and headers
READ_TIMEOUT_SECONDS = 30.0  # one try of reading an object, 40 MB included      # the description holds when the content was last put or found again


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def reference_of(digest: str) -> str:
    return REFERENCE_PREFIX + digest


def digest_of_reference(reference: str) -> str | None:
    """`sha256:<64 hex>` to its digest; None when it is not such a reference."""
    if not reference.startswith(REFERENCE_PREFIX):
        return None
    digest = reference[len(REFERENCE_PREFIX) :]
    return digest if _HEX_DIGEST.fullmatch(digest) else None


@dataclass(frozen=True)
class StoredContent:
    sha256: str
    size: int
    touched_at: float  # seconds since the epoch: when it was last stored or found again


class ContentStore:
    def __init__(
        self, js: JetStreamContext, bucket: str, replicas: int, patience: float, chunk_size: int = CHUNK_BYTES
    ) -> None:
        self.js = js
        self.bucket = bucket
        self.replicas = replicas
        self.patience = patience
        self.chunk_size = chunk_size
        self._store: ObjectStore | None = None

    @classmethod
    def beside(cls, store: EventStore, patience: float) -> "ContentStore":
        """The content bucket of this event stream, as many replicas as the stream has."""
        # Each chunk is one NATS message: within a server's max_payload, whatever it is set to.
        chunk_size = min(CHUNK_BYTES, max(1024, (store.nc.max_payload or CHUNK_BYTES) - CHUNK_HEADROOM_BYTES))
        return cls(store.js, f"{store.stream}_content", store.replicas, patience, chunk_size)

    async def put(self, content: bytes, *, refresh_after: float = 0.0) -> StoredContent:
        """Store the content unless it is there already; found content whose last touch is older than
        `refresh_after` seconds is touched, so a sweeper counting from the touch leaves it be."""
        digest = sha256_of(content)
        existing = await self.info(digest)
        now = time.time()
        if existing is not None:
            return await self._refreshed(existing, refresh_after)
        await self._patiently(lambda bucket: bucket.put(digest, content, meta=_meta(digest, now, self.chunk_size)))
        return StoredContent(digest, len(content), now)

    async def touch(self, digest: str, *, refresh_after: float = 0.0) -> StoredContent | None:
        """Mark held content as just used (see `put`); None when the store does not hold it."""
        existing = await self.info(digest)
        if existing is None:
            return None
        return await self._refreshed(existing, refresh_after)

    async def _refreshed(self, existing: StoredContent, refresh_after: float) -> StoredContent:
        """The content as held, touched now unless its last touch is more recent than `refresh_after`."""
        now = time.time()
        if now - existing.touched_at <= refresh_after:
            return existing
        digest = existing.sha256
        await self._patiently(lambda bucket: bucket.update_meta(digest, _meta(digest, now)))
        return StoredContent(digest, existing.size, now)

    async def get(self, digest: str) -> bytes | None:
        """The content, or None when the store does not hold it."""

        async def read(bucket: ObjectStore) -> bytes | None:
            sink = io.BytesIO()
            try:
                # A read whose chunks stop coming (its consumer lost in a reconnect) is a hiccup: again.
                await asyncio.wait_for(bucket.get(digest, writeinto=sink), READ_TIMEOUT_SECONDS)
            except (ObjectNotFoundError, NotFoundError):
                return None
            return sink.getvalue()

        return await self._patiently(read)

    async def info(self, digest: str) -> StoredContent | None:
        async def read(bucket: ObjectStore) -> StoredContent | None:
            try:
                return _stored(await bucket.get_info(digest))
            except (ObjectNotFoundError, NotFoundError):
                return None

        return await self._patiently(read)

    async def delete(self, digest: str) -> None:
        async def remove(bucket: ObjectStore) -> None:
            try:
                await bucket.delete(digest)
            except (ObjectNotFoundError, NotFoundError):
                pass

        await self._patiently(remove)

    async def list(self) -> list[StoredContent]:
        async def read(bucket: ObjectStore) -> list[StoredContent]:
            try:
                return [_stored(info) for info in await bucket.list(ignore_deletes=True) if not info.deleted]
            except NotFoundError:
                return []

        return await self._patiently(read)

    async def held_bytes(self) -> int:
        return sum(item.size for item in await self.list())

    async def _patiently(self, operation: Callable[[ObjectStore], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.patience
        backoff = Backoff()
        while True:
            try:
                if self._store is None:
                    self._store = await self._bucket()
                return await operation(self._store)
            except Exception as error:
                if bucket_is_gone(error) or isinstance(error, BucketNotFoundError):
                    self._store = None
                elif not is_log_hiccup(error):
                    raise
                if time.monotonic() >= deadline:
                    raise LogUnavailable(self.bucket, self.patience, error) from error
            await asyncio.sleep(backoff.next())

    async def _bucket(self) -> ObjectStore:
        """Bind the bucket, creating it when missing; replicas racing to create it bind to the winner's."""
        try:
            return await self.js.object_store(self.bucket)
        except BucketNotFoundError:
            pass
        config = js_api.ObjectStoreConfig(
            bucket=self.bucket,
            replicas=self.replicas,
            storage=js_api.StorageType.FILE,
            description="Postroom: email bodies and attachments, named by SHA-256",
        )
        try:
            return await self.js.create_object_store(self.bucket, config)
        except Exception:
            return await self.js.object_store(self.bucket)


def _meta(digest: str, touched_at: float, chunk_size: int = CHUNK_BYTES) -> js_api.ObjectMeta:
    return js_api.ObjectMeta(
        name=digest,
        description=_TOUCHED + datetime.fromtimestamp(touched_at, timezone.utc).isoformat(),
        options=js_api.ObjectMetaOptions(max_chunk_size=chunk_size),
    )


def _stored(info: js_api.ObjectInfo) -> StoredContent:
    return StoredContent(info.name, info.size or 0, _touched_at(info))


def _touched_at(info: js_api.ObjectInfo) -> float:
    for stamp in ((info.description or "").removeprefix(_TOUCHED), info.mtime or ""):
        try:
            return datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            continue
    return 0.0
