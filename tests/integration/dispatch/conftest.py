"""A dispatch service in-process against a real nats-server and a real SES-like SMTP server."""

from __future__ import annotations

import functools
from dataclasses import replace

import grpc
import pytest

from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import dispatch_pb2_grpc
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from tests.integration.dispatch.dispatch_support import FAST, start_sink
from tests.support.service_process import ServiceProcess
from tests.support.streams import delete_test_streams


@pytest.fixture
def dispatch_settings(read_model_settings):
    return replace(read_model_settings, pause_after_failures=3, dispatch_max_attempts=5, dispatch_concurrency=50)


@pytest.fixture
def sink(test_ca):
    server = start_sink(test_ca)
    yield server
    server.stop()


@pytest.fixture
async def store(dispatch_settings):
    store = await EventStore.connect(dispatch_settings)
    yield store
    await delete_test_streams(store)
    await store.close()


@pytest.fixture
async def service(dispatch_settings, store):
    running = await start_service("dispatch", dispatch_settings, functools.partial(dispatch_main.build, timings=FAST))
    yield running
    await running.stop()


@pytest.fixture
async def stub(service):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        yield dispatch_pb2_grpc.DispatchServiceStub(channel)


@pytest.fixture
def processes():
    """Service processes a test starts; each is stopped (SIGTERM, then SIGKILL after 10 s) afterwards."""
    started: list[ServiceProcess] = []
    yield started
    for process in started:
        process.stop(10)
