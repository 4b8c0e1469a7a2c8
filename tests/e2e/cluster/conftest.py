"""A real 3-node JetStream cluster for the scale tests: nats-server processes from the wheel on
loopback ports, each with its own store dir, and an R3 stream per test.

The cluster is shared by the session (starting one takes a few seconds); each test gets its own
stream, subjects and buckets, as the single-node tests do, and finds every node running again
even when the test before it killed one.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.core.event_store import EventStore
from services.core.nats_server import NatsCluster
from services.core.settings import Settings
from tests.support.service_process import ProcessGroup
from tests.support.streams import delete_test_streams


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory) -> NatsCluster:
    cluster = NatsCluster(tmp_path_factory.mktemp("nats-cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def cluster_settings(nats_cluster: NatsCluster, settings: Settings) -> Settings:
    for node in nats_cluster.nodes:
        if not node.running:
            node.start()
    nats_cluster.wait_until_healthy()
    return replace(settings, nats_url=nats_cluster.urls, stream_replicas=3)


@pytest.fixture
async def cluster_store(cluster_settings: Settings):
    store = await EventStore.connect(cluster_settings, name="cluster-test")
    yield store
    await delete_test_streams(store)
    await store.close()


@pytest.fixture
def processes(tmp_path):
    group = ProcessGroup(tmp_path)
    yield group
    group.stop_all()


@pytest.fixture
def sink(test_ca):
    from tests.integration.dispatch.dispatch_support import start_sink

    server = start_sink(test_ca)
    yield server
    server.stop()
