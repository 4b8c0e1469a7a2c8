"""JetStream KV and Object Store buckets beside the event stream, opened or created once."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue


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
    """A KV bucket that is made again when it turns out to be gone, so a worker heals by itself."""

    def __init__(self, js: JetStreamContext, config: js_api.KeyValueConfig) -> None:
        self.js = js
        self.config = config
        self._kv: KeyValue | None = None

    async def use(self, operation):
        """`await operation(kv)`, once more on a fresh bucket if the bucket was gone."""
        if self._kv is None:
            self._kv = await key_value_bucket(self.js, self.config)
        try:
            return await operation(self._kv)
        except Exception as error:
            if not bucket_is_gone(error):
                raise
        self._kv = await key_value_bucket(self.js, self.config)
        return await operation(self._kv)
