"""`postroom cluster`: where the event log and the buckets beside it live, and who leads each."""

from __future__ import annotations

import argparse
import asyncio
import json

from services.cli.client import event_store
from services.core.settings import Settings


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("cluster", help="the stream's and the buckets' leaders and replicas (JetStream)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(show(settings))


async def show(settings: Settings) -> int:
    store = await event_store(settings, "postroom-cluster")
    try:
        for info in await store.js.streams_info():
            name = info.config.name or ""
            if name == store.stream or name.startswith((f"KV_{store.stream}-", f"OBJ_{store.stream}-")):
                print(json.dumps(_described(info)))
    finally:
        await store.close()
    return 0


def _described(info) -> dict:
    cluster = info.cluster
    replicas = (
        [{"server": peer.name, "current": peer.current, "lag": peer.lag or 0} for peer in (cluster.replicas or [])]
        if cluster
        else []
    )
    return {
        "stream": info.config.name,
        "messages": info.state.messages,
        "replicas": info.config.num_replicas,
        "leader": cluster.leader if cluster else "",
        "followers": replicas,
    }
