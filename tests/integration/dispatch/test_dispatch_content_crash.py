"""kill -9 of a dispatch process between storing an email's content and appending its EmailQueued.

The process is real (`postroom serve dispatch`), and it is proven in flight when killed: the
stream is made to take no dispatch events for a while (its subjects moved aside, so every append
meets "no responders" and is tried again patiently), the content is seen in the store, and no
EmailQueued exists. Afterwards no EmailQueued names missing content, another process's sweeper
removes the orphan, and the same request (same idempotency key) then goes out.
"""

from __future__ import annotations

import asyncio
import os
import time

import grpc
import pytest

from services.core.content_store import ContentStore, sha256_of
from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.dispatch import events
from services.dispatch.domain import dispatch_id_for
from tests.integration.dispatch.dispatch_support import (
    ACCOUNT,
    METADATA,
    dispatch_events,
    email,
    save_provider,
    wait_for_status,
)
from tests.support.service_process import ServiceProcess, service_environment

pytestmark = pytest.mark.slow

ATTACHMENT = b"%PDF-1.7\n" + os.urandom(300_000)


def dispatch_process(settings, root, name: str, **overrides: str) -> ServiceProcess:
    env = service_environment(settings, POSTROOM_APPEND_PATIENCE="120", **overrides)
    return ServiceProcess.fresh("dispatch", env, root, name).start()


async def set_subjects(store: EventStore, subjects: list[str]) -> None:
    info = await store.js.stream_info(store.stream)
    info.config.subjects = subjects
    await store.js.update_stream(info.config)


async def until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_kill_9_between_the_content_and_its_email_queued_leaves_an_orphan_that_is_swept(
    settings, stream_store, sink, processes, tmp_path
):
    store, content = stream_store, ContentStore.beside(stream_store, patience=10.0)
    await save_provider(store, settings, sink)
    first = dispatch_process(settings, tmp_path, "first", POSTROOM_CONTENT_ORPHAN_GRACE="3600")
    processes.append(first)
    await first.wait_until_serving()
    request = email(
        idempotency_key="invoice-7",
        attachments=[dispatch_pb2.Attachment(filename="invoice.pdf", media_type="application/pdf", content=ATTACHMENT)],
    )
    dispatch_id = dispatch_id_for(ACCOUNT, "invoice-7")
    digest = sha256_of(ATTACHMENT)

    await set_subjects(store, [f"{store.prefix}-aside.>"])  # appends now meet "no responders"
    async with grpc.aio.insecure_channel(first.grpc_address) as channel:
        call = asyncio.ensure_future(
            dispatch_pb2_grpc.DispatchServiceStub(channel).SendEmail(request, metadata=METADATA)
        )

        async def content_stored() -> bool:
            return digest in {item.sha256 for item in await content.list()}

        await until(content_stored)
        assert await store.last_event(events.AGGREGATE, dispatch_id) is None, "in flight: no EmailQueued yet"
        assert not call.done()
        first.kill()  # SIGKILL, mid-request
        with pytest.raises(grpc.aio.AioRpcError):
            await call
    await set_subjects(store, [f"{store.prefix}.>"])
    await asyncio.sleep(1.0)
    assert await store.last_event(events.AGGREGATE, dispatch_id) is None
    for queued in [e for e in await dispatch_events(store) if e.type == "EmailQueued"]:
        for ref in events.refs_of(queued).digests:
            assert await content.info(ref) is not None, "an EmailQueued names content that is not held"

    second = dispatch_process(
        settings, tmp_path, "second", POSTROOM_CONTENT_ORPHAN_GRACE="1", POSTROOM_CONTENT_SWEEP_INTERVAL="0.3"
    )
    processes.append(second)
    await second.wait_until_serving()

    async def swept() -> bool:
        return await content.list() == []

    await until(swept)

    async with grpc.aio.insecure_channel(second.grpc_address) as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        accepted = await stub.SendEmail(request, metadata=METADATA)
        assert accepted.dispatch_id == dispatch_id
        assert (await wait_for_status(stub, dispatch_id, dispatch_pb2.DISPATCHED)).status == dispatch_pb2.DISPATCHED
    (received,) = sink.received
    (part,) = [p for p in received.parsed().walk() if p.get_filename() == "invoice.pdf"]
    assert part.get_payload(decode=True) == ATTACHMENT
