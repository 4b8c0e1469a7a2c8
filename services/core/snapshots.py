"""Snapshots of SQLite read models in a JetStream Object Store bucket, so a new pod replays only the tail.

A service whose read model is SQLite writes a consistent copy of its live generation (rows and
checkpoint together, by `VACUUM INTO`) every `POSTROOM_SNAPSHOT_INTERVAL` seconds to the bucket
`<stream>_snapshots`, under one object per model and version (`dispatch.v3f2a9c10`), each replacing
the last. A new pod without a read model of its versions restores the newest one of *its*
versions and feeds it from the checkpoint inside; a snapshot of other versions has another name,
and its own version table is checked again after the download, so it is never used.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from pathlib import Path

from nats.js import api as js_api
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from services.core.database import checkpoints, model_versions
from services.core.event_store import EventStore
from services.core.read_model_generations import Generation, ReadModelGenerations, version_digest
from services.core.tasks import cancel_all

log = logging.getLogger(__name__)


def object_name(generation: Generation) -> str:
    return f"{generation.model}.v{version_digest(generation.version_key)}"


class Snapshots:
    def __init__(self, store: EventStore, interval: float) -> None:
        self.store = store
        self.interval = interval
        self.bucket = f"{store.stream}_snapshots"
        self._saved_at = time.monotonic()
        self._saved_checkpoint = 0
        self._task: asyncio.Task | None = None

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_all([self._task])
            self._task = None

    # ---- restoring ----

    async def restore(
        self, generations: ReadModelGenerations, generation: Generation, versions: dict[str, int]
    ) -> int | None:
        """Put the newest snapshot of `generation`'s versions in its file; its checkpoint, or None."""
        path = generations.sqlite_file(generation)
        bucket = await self._bucket(create=False) if self.enabled and path is not None else None
        if bucket is None:
            return None
        assert path is not None  # without a file there is no bucket
        name = object_name(generation)
        try:
            info = await bucket.get_info(name)
        except (ObjectNotFoundError, NotFoundError):
            return None
        if _description(info.description).get("version_key") != generation.version_key:
            return None
        partial = path.with_name(path.name + ".restoring")
        with open(partial, "wb") as out:
            await bucket.get(name, writeinto=out)
        found, checkpoint = await asyncio.to_thread(_read_snapshot, partial, generation.model)
        if found != versions:
            partial.unlink(missing_ok=True)
            log.warning("snapshot of other versions ignored", extra={"object": name, "versions": found})
            return None
        partial.replace(path)
        log.info(
            "read model restored from a snapshot", extra={"object": name, "checkpoint": checkpoint, "bytes": info.size}
        )
        return checkpoint

    # ---- saving ----

    def save_when_due(self, generations: ReadModelGenerations, feed) -> None:
        """Start saving a snapshot of `feed`'s generation when the interval has passed."""
        path = generations.sqlite_file(feed.generation)
        if not self.enabled or path is None or (self._task is not None and not self._task.done()):
            return
        if time.monotonic() - self._saved_at < self.interval or feed.checkpoint == self._saved_checkpoint:
            return
        self._saved_at = time.monotonic()
        self._task = asyncio.create_task(self._save(path, feed.generation), name=f"snapshot-{feed.generation.model}")

    async def _save(self, path: Path, generation: Generation) -> None:
        copy = path.with_name(path.name + ".snapshot")
        try:
            copy.unlink(missing_ok=True)
            checkpoint = await asyncio.to_thread(_vacuum_into, path, copy, generation.model)
            bucket = await self._bucket(create=True)
            assert bucket is not None  # create=True makes one when there is none
            name = object_name(generation)
            if await self._stored_checkpoint(bucket, name) >= checkpoint:
                return  # another pod's snapshot is as new
            description = json.dumps({"version_key": generation.version_key, "checkpoint": checkpoint})
            with open(copy, "rb") as source:
                await bucket.put(name, source, meta=js_api.ObjectMeta(name=name, description=description))
            self._saved_checkpoint = checkpoint
            log.info(
                "read model snapshot saved",
                extra={"object": name, "checkpoint": checkpoint, "bytes": copy.stat().st_size},
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("read model snapshot not saved this time", extra={"model": generation.model}, exc_info=True)
        finally:
            copy.unlink(missing_ok=True)

    async def _stored_checkpoint(self, bucket: ObjectStore, name: str) -> int:
        try:
            info = await bucket.get_info(name)
        except (ObjectNotFoundError, NotFoundError):
            return 0
        return int(_description(info.description).get("checkpoint", 0))

    async def _bucket(self, *, create: bool) -> ObjectStore | None:
        try:
            return await self.store.js.object_store(self.bucket)
        except (BucketNotFoundError, NotFoundError):
            if not create:
                return None
        config = js_api.ObjectStoreConfig(
            description="read-model snapshots of Postroom's SQLite pods",
            storage=js_api.StorageType.FILE,
            replicas=self.store.replicas,
        )
        return await self.store.js.create_object_store(self.bucket, config=config)


def _description(text: str | None) -> dict:
    try:
        found = json.loads(text or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _vacuum_into(path: Path, copy: Path, model: str) -> int:
    """A consistent, compact copy of the database (one read transaction); its checkpoint."""
    source = sqlite3.connect(path, timeout=30)
    try:
        source.execute("VACUUM INTO ?", (str(copy),))
    finally:
        source.close()
    return _read_snapshot(copy, model)[1]


def _read_snapshot(path: Path, model: str) -> tuple[dict[str, int], int]:
    """The projection versions and the checkpoint a snapshot file holds."""
    connection = sqlite3.connect(path)
    try:
        versions = dict(connection.execute(f"SELECT projection, version FROM {model_versions.name}").fetchall())
        row = connection.execute(
            f"SELECT last_stream_seq FROM {checkpoints.name} WHERE projection = ?", (model,)
        ).fetchone()
    except sqlite3.DatabaseError:
        return {}, 0
    finally:
        connection.close()
    return versions, int(row[0]) if row else 0
