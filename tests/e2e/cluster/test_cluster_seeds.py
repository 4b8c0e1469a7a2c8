"""POSTROOM_NATS_URL is a list of seeds: a service starts and runs while one of them is down."""

from __future__ import annotations

import grpc
import pytest

from services.core.content_store import ContentStore
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from tests.e2e.cluster.cluster_support import dispatch_environment, until
from tests.integration.dispatch.dispatch_support import METADATA, email, save_provider

pytestmark = pytest.mark.slow


async def test_a_service_starts_and_sends_with_the_first_seed_down(
    nats_cluster, cluster_settings, cluster_store, processes, sink
):
    await save_provider(cluster_store, cluster_settings, sink)
    # The content bucket, like the stream, is made while the whole cluster is up: placing an R3
    # bucket takes three servers, and this test is about seeds, not about a cluster's first day.
    await ContentStore.beside(cluster_store, patience=30).held_bytes()
    nats_cluster.nodes[0].stop()  # the first URL of POSTROOM_NATS_URL
    dispatch = processes.start("dispatch", dispatch_environment(cluster_settings))
    await dispatch.wait_until_serving()
    async with grpc.aio.insecure_channel(dispatch.grpc_address) as channel:
        answer = await dispatch_pb2_grpc.DispatchServiceStub(channel).SendEmail(email(), metadata=METADATA)
    assert answer.status == dispatch_pb2.QUEUED
    await until(lambda: len(sink.received) == 1, 30, "the email sent")
