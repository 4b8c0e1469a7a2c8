"""KV buckets beside the event stream (services/core/buckets.py) against a real nats-server: the
keys that hold a value, read whole every time."""

from __future__ import annotations

import nats
import pytest
from nats.js import api as js_api

from services.core.buckets import ReopenedBucket


@pytest.fixture
async def bucket(settings):
    nc = await nats.connect(settings.nats_url)
    config = js_api.KeyValueConfig(bucket=f"{settings.stream_name}-keys", history=1, ttl=60)
    yield ReopenedBucket(nc.jetstream(), config)
    await nc.jetstream().delete_key_value(config.bucket)
    await nc.close()


async def test_the_keys_are_those_holding_a_value_now(bucket):
    assert await bucket.keys() == frozenset()  # a bucket made on first use, empty
    for key in ("a", "b", "c", "d"):
        await bucket.use(lambda kv, key=key: kv.put(key, b"beat"))
    await bucket.use(lambda kv: kv.delete("b"))
    await bucket.use(lambda kv: kv.purge("c"))
    assert await bucket.keys() == {"a", "d"}


async def test_every_read_of_the_keys_has_them_all(bucket):
    """nats-py's KeyValue.keys() could end its listing before the entries in flight arrived (about
    one read in 200 came back short here); the dispatch replicas then missed a live one."""
    keys = {f"replica-{i}" for i in range(20)}
    for key in keys:
        await bucket.use(lambda kv, key=key: kv.put(key, b"beat"))
    for _ in range(200):
        assert await bucket.keys() == keys
