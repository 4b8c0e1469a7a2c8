"""A running unsubscribe service with a token key, its gRPC stub and its public HTTP address."""

from __future__ import annotations

import aiohttp
import grpc
import pytest

from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import unsubscribe_pb2_grpc
from services.core.runtime import start_service
from services.unsubscribe.main import build
from tests.conftest import TEST_TOKEN
from tests.support.unsubscribe import with_unsubscribe_key

AUTH = (("authorization", f"Bearer {TEST_TOKEN}"),)


@pytest.fixture
def unsubscribe_settings(read_model_settings):
    return with_unsubscribe_key(
        read_model_settings,
        unsubscribe_public_url="https://unsubscribe.example.test",
        unsubscribe_mailto="unsubscribe@example.test",
    )


@pytest.fixture
async def unsubscribe_service(unsubscribe_settings):
    service = await start_service("unsubscribe", unsubscribe_settings, build)
    yield service
    await service.stop()


@pytest.fixture
def base_url(unsubscribe_service) -> str:
    return f"http://127.0.0.1:{unsubscribe_service.components.http[0].port}"


@pytest.fixture
async def http():
    # A cookie jar that keeps nothing: RFC 8058 one-click POSTs carry no cookies.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


@pytest.fixture
async def unsubscribe(unsubscribe_service):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{unsubscribe_service.grpc_port}") as channel:
        yield unsubscribe_pb2_grpc.UnsubscribeServiceStub(channel)


@pytest.fixture
async def store(unsubscribe_settings):
    store = await EventStore.connect(unsubscribe_settings, name="unsubscribe-test-reader")
    yield store
    await store.close()
