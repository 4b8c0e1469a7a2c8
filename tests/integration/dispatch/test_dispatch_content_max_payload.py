"""Against a nats-server whose max_payload is 64 KB (its default is 1 MB): the EmailQueued that
would not fit is refused up front, naming the limit, and content still goes through in chunks
that fit."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import time
from dataclasses import replace

import grpc
import pytest

from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.nats_server import free_port, nats_server_binary
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from tests.integration.dispatch.dispatch_support import FAST, METADATA, email, save_provider, wait_for_status
from tests.integration.dispatch.test_dispatch_content import refused, violations
from tests.support.streams import delete_test_streams

MAX_PAYLOAD = 64 * 1024


@pytest.fixture
def small_nats(tmp_path):
    port = free_port()
    config = tmp_path / "nats.conf"
    config.write_text(
        f'port: {port}\nhost: "127.0.0.1"\nmax_payload: {MAX_PAYLOAD}\n'
        f'jetstream {{ store_dir: "{tmp_path / "store"}" }}\n'
    )
    process = subprocess.Popen(
        [nats_server_binary(), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "nats-server did not start"
            time.sleep(0.05)
    yield f"nats://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


async def test_an_email_queued_over_the_servers_max_payload_is_refused_naming_it(small_nats, settings, test_ca, sink):
    small = replace(settings, nats_url=small_nats)
    store = await EventStore.connect(small)
    service = await start_service("dispatch", small, functools.partial(dispatch_main.build, timings=FAST))
    try:
        await save_provider(store, small, sink)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            crowded = email(
                to=[events_pb2.EmailAddress(address=f"reader{i}@example.org", name="N" * 200) for i in range(50)],
                headers={f"X-Note-{i}": "v" * 998 for i in range(50)},
                tags={f"t{i}" + "k" * 250: "v" * 256 for i in range(49)},
            )
            error = await refused(stub.SendEmail(crowded, metadata=METADATA))
            assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert "NATS max_payload" in violations(error)["message"], violations(error)

            attachment = os.urandom(300_000)  # five chunks, each within 64 KB
            accepted = await stub.SendEmail(
                email(
                    attachments=[
                        dispatch_pb2.Attachment(filename="a.pdf", media_type="application/pdf", content=attachment)
                    ]
                ),
                metadata=METADATA,
            )
            sent = await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
            assert sent.status == dispatch_pb2.DISPATCHED, sent
            (part,) = [p for p in sink.received[0].parsed().walk() if p.get_filename() == "a.pdf"]
            assert part.get_payload(decode=True) == attachment
    finally:
        await service.stop()
        await delete_test_streams(store)
        await store.close()
