"""SQLite pods start from a snapshot of their read model's version and replay only the tail."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import aiohttp
from nats.js import api as js_api

from services.core.event_store import EventStore
from services.core.events import new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash
from services.core.runtime import start_service
from services.unsubscribe.main import build
from services.unsubscribe.projection import UnsubscribeProjection
from tests.support.read_models import dump_from_scratch, dump_service, runner_of
from tests.support.unsubscribe import with_unsubscribe_key

SNAPSHOT = "restored a snapshot at sequence"
FROM_SCRATCH = "replayed the stream from sequence 1"


def unsubscribed(email: str) -> events_pb2.Event:
    hashed = recipient_hash(email)
    return new_event(
        events_pb2.Unsubscribed(recipient_hash=hashed, recipient=email, source="api"),
        account_id="acme",
        aggregate_type="subscription",
        aggregate_id=hashed,
    )


async def append_unsubscribes(store: EventStore, first: int, count: int) -> None:
    for index in range(first, first + count):
        await store.append(unsubscribed(f"reader{index}@example.com"))


def pod(settings, name: str, tmp_path: Path):
    """A new pod: its own empty data directory."""
    return replace(settings, data_dir=tmp_path / name, snapshot_interval=0.2)


async def stored_snapshot(store: EventStore, model: str) -> dict:
    bucket = await store.js.object_store(f"{store.stream}_snapshots")
    (info,) = [info for info in await bucket.list() if info.name.startswith(f"{model}.")]
    return {"name": info.name, **json.loads(info.description)}


async def wait_for_snapshot_at(store: EventStore, seq: int) -> dict:
    async with asyncio.timeout(20):
        while True:
            try:
                found = await stored_snapshot(store, "unsubscribe")
                if found["checkpoint"] >= seq:
                    return found
            except Exception:
                pass
            await asyncio.sleep(0.1)


async def readyz(service) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{service.components.http[0].port}/readyz") as answer:
            return await answer.text()


async def test_a_new_pod_restores_the_snapshot_of_its_version_and_equals_a_full_replay(settings, tmp_path):
    settings = with_unsubscribe_key(settings)
    store = await EventStore.connect(settings)
    await append_unsubscribes(store, 0, 30)
    first = await start_service("unsubscribe", pod(settings, "first", tmp_path), build)
    assert FROM_SCRATCH in first.readiness()
    await wait_for_snapshot_at(store, await store.last_sequence())
    await first.stop()

    await append_unsubscribes(store, 30, 5)  # the tail a new pod replays
    second = await start_service("unsubscribe", pod(settings, "second", tmp_path), build)
    try:
        await asyncio.wait_for(runner_of(second).caught_up.wait(), 20)
        assert f"{SNAPSHOT} 30," in second.readiness()
        assert f"{SNAPSHOT} 30," in await readyz(second)
        assert await dump_service(second) == await dump_from_scratch(runner_of(second))
        assert len((await dump_service(second))["unsubscribe_unsubscribes"]) == 35
    finally:
        await second.stop()
    await store.close()


async def test_a_snapshot_of_another_version_is_never_used(settings, tmp_path, monkeypatch):
    settings = with_unsubscribe_key(settings)
    store = await EventStore.connect(settings)
    await append_unsubscribes(store, 0, 10)
    first = await start_service("unsubscribe", pod(settings, "first", tmp_path), build)
    await wait_for_snapshot_at(store, 10)
    await first.stop()
    # Taken now: the bumped pod below may file a snapshot of its own version before it stops.
    first_snapshot = await stored_snapshot(store, "unsubscribe")

    monkeypatch.setattr(UnsubscribeProjection, "version", 2)
    bumped = await start_service("unsubscribe", pod(settings, "bumped", tmp_path), build)
    assert FROM_SCRATCH in bumped.readiness()
    await bumped.stop()

    # A snapshot filed under this version's name whose tables say otherwise is refused as well.
    monkeypatch.setattr(UnsubscribeProjection, "version", 1)
    await mislabel_snapshot(store, first_snapshot, tmp_path)
    mislabelled = await start_service("unsubscribe", pod(settings, "mislabelled", tmp_path), build)
    try:
        assert FROM_SCRATCH in mislabelled.readiness()
    finally:
        await mislabelled.stop()
    await store.close()


async def mislabel_snapshot(store: EventStore, found: dict, tmp_path: Path) -> None:
    bucket = await store.js.object_store(f"{store.stream}_snapshots")
    path = tmp_path / "mislabelled.db"
    path.write_bytes((await bucket.get(found["name"])).data)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE read_model_versions SET version = 7")
    await bucket.put(
        found["name"],
        path.read_bytes(),
        meta=js_api.ObjectMeta(
            name=found["name"], description=json.dumps({"version_key": found["version_key"], "checkpoint": 99})
        ),
    )
