"""End to end: dispatch sends a list email with a signed link, the recipient's client POSTs the RFC 8058
one-click to it, and the next SendEmail to that address for that list ends SUPPRESSED."""

from __future__ import annotations

import functools
import importlib.util

import aiohttp
import grpc
import pytest

from services.core.event_store import EventStore
from services.core.runtime import start_service
from services.unsubscribe.main import build as build_unsubscribe
from tests.support.unsubscribe import subscription_events, with_unsubscribe_key

if importlib.util.find_spec("services.dispatch") is None:
    pytest.skip("services.dispatch does not exist yet: nothing to suppress", allow_module_level=True)


async def test_unsubscribe_through_the_link_then_send_email_is_suppressed(settings, test_ca):
    from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
    from services.dispatch import main as dispatch_main
    from tests.integration.dispatch.dispatch_support import (
        FAST,
        METADATA,
        email,
        save_provider,
        start_sink,
        wait_for_status,
    )

    suite = with_unsubscribe_key(
        settings,
        unsubscribe_public_url=f"http://127.0.0.1:{settings.ports.unsubscribe_http}",
        unsubscribe_mailto="unsubscribe@example.com",
    )
    sink = start_sink(test_ca)
    store = await EventStore.connect(suite, name="suppression-test")
    unsubscribe = await start_service("unsubscribe", suite, build_unsubscribe)
    dispatch = await start_service("dispatch", suite, functools.partial(dispatch_main.build, timings=FAST))
    try:
        await save_provider(store, suite, sink)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{dispatch.grpc_port}") as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            first = await stub.SendEmail(email(to="reader@example.org", list_id="news"), metadata=METADATA)
            sent = await wait_for_status(stub, first.dispatch_id, dispatch_pb2.DISPATCHED)
            assert sent.status == dispatch_pb2.DISPATCHED, sent
            headers = sink.received[-1].parsed()
            assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            link = str(headers["List-Unsubscribe"]).split(",")[0].strip(" <>")

            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
                async with http.post(
                    link,
                    data="List-Unsubscribe=One-Click",
                    allow_redirects=False,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                ) as response:
                    assert response.status == 200
            [event] = await subscription_events(store, "unsubscribed")
            assert (event.event.unsubscribed.list_id, event.event.unsubscribed.dispatch_id) == (
                "news",
                first.dispatch_id,
            )

            second = await stub.SendEmail(email(to="reader@example.org", list_id="news"), metadata=METADATA)
            suppressed = await wait_for_status(stub, second.dispatch_id, dispatch_pb2.SUPPRESSED)
            assert suppressed.status == dispatch_pb2.SUPPRESSED, suppressed
            other_list = await stub.SendEmail(email(to="reader@example.org", list_id="offers"), metadata=METADATA)
            assert (
                await wait_for_status(stub, other_list.dispatch_id, dispatch_pb2.DISPATCHED)
            ).status == dispatch_pb2.DISPATCHED
        assert len(sink.received) == 2
    finally:
        await dispatch.stop()
        await unsubscribe.stop()
        await store.close()
        sink.stop()
