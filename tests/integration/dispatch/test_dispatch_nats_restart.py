"""The shared consumer survives a NATS server restart: mail queued afterwards is still sent."""

from __future__ import annotations

import functools
from dataclasses import replace

import grpc

from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.nats_server import EmbeddedNatsServer, free_port
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from tests.integration.dispatch.dispatch_support import FAST, METADATA, email, save_provider, wait_for_status


async def test_sending_resumes_after_the_nats_server_restarts(settings, sink, tmp_path):
    nats = EmbeddedNatsServer(free_port(), tmp_path / "nats")
    nats.start()
    own = replace(settings, nats_url=nats.url)
    service = await start_service("dispatch", own, functools.partial(dispatch_main.build, timings=FAST))
    store = await EventStore.connect(own)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            await save_provider(store, own, sink)
            before = await stub.SendEmail(email(), metadata=METADATA)
            assert (
                await wait_for_status(stub, before.dispatch_id, dispatch_pb2.DISPATCHED)
            ).status == dispatch_pb2.DISPATCHED
            nats.stop()
            nats.start()
            after = await _send_when_nats_is_back(stub)
            assert (
                await wait_for_status(stub, after, dispatch_pb2.DISPATCHED, timeout=20)
            ).status == dispatch_pb2.DISPATCHED
        assert len(sink.received) == 2
    finally:
        await store.close()
        await service.stop()
        nats.stop()


async def _send_when_nats_is_back(stub) -> str:
    import asyncio

    for _ in range(100):
        try:
            return (await stub.SendEmail(email(to="after@example.org"), metadata=METADATA)).dispatch_id
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.1)
    raise AssertionError("SendEmail never worked again")
