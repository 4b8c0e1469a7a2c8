"""JetStream KV and Object Store buckets beside the event stream, opened or created once."""

from __future__ import annotations

import asyncio
import time

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KV_DEL, KV_MARKER_REASON, KV_OP, KV_PURGE, KeyValue

from services.core.log_hiccups import Backoff, is_log_hiccup


async def key_value_bucket(js: JetStreamContext, config: js_api.KeyValueConfig) -> KeyValue:
    """Bind the bucket, creating it when it does not exist yet. Replicas starting together may
    race to create it: creating with the same configuration is idempotent, and a loser that still
    gets an error binds to what the winner made."""
    try:
        return await js.key_value(config.bucket)
    except BucketNotFoundError:
        pass
    try:
        return await js.create_key_value(config)
    except Exception:
        return await js.key_value(config.bucket)


STREAM_NOT_FOUND = 10059


def bucket_is_gone(error: BaseException) -> bool:
    """The bucket's stream does not exist (removed by hand, or a server restarted without its store)."""
    return getattr(error, "err_code", None) == STREAM_NOT_FOUND


class ReopenedBucket:
    """A KV bucket that rides out the log's hiccups and is made again when it turns out to be gone
    (removed by hand, or lost with a server's store), so its users heal by themselves."""

    def __init__(self, js: JetStreamContext, config: js_api.KeyValueConfig, patience: float = 10.0) -> None:
        self.js = js
        self.config = config
        self.patience = patience
        self._kv: KeyValue | None = None

    async def use(self, operation):
        """`await operation(kv)`, tried again through hiccups (a new bucket electing its first
        leader, say) for up to `patience` seconds, and on a fresh bucket if the bucket was gone."""
        deadline = time.monotonic() + self.patience
        backoff = Backoff()
        while True:
            try:
                if self._kv is None:
                    self._kv = await key_value_bucket(self.js, self.config)
                return await operation(self._kv)
            except Exception as error:
                if bucket_is_gone(error):
                    self._kv = None
                elif not is_log_hiccup(error) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(backoff.next())

    async def keys(self) -> frozenset[str]:
        """The keys that hold a value now.

        Not nats-py's `KeyValue.keys()`: its watcher can declare the listing complete (the
        consumer has nothing pending, the client has taken in nothing yet) while the entries are
        still on their way, and answer with fewer keys, or none. This asks the bucket's stream for
        its subjects (one request), then the stream's leader for each one's last entry (not a
        direct get, which a lagging follower may answer): a delete or purge marker leaves the key
        out, an expired entry is gone from the stream already."""
        return await self.use(lambda _: self._keys_holding_values())

    async def _keys_holding_values(self) -> frozenset[str]:
        stream, prefix = f"KV_{self.config.bucket}", f"$KV.{self.config.bucket}."
        info = await self.js.stream_info(stream, subjects_filter=f"{prefix}>")
        held = set()
        for subject in info.state.subjects or {}:
            try:
                last = await self.js.get_msg(stream, subject=subject)
            except NotFoundError:  # expired since
                continue
            headers = last.headers or {}
            # A delete or purge marker, or (nats-server 2.11+) one the server placed at an expiry
            if headers.get(KV_OP) not in (KV_DEL, KV_PURGE) and headers.get(KV_MARKER_REASON) is None:
                held.add(subject.removeprefix(prefix))
        return frozenset(held)
