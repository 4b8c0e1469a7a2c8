"""A request that follows an event the read model has not reached yet waits for it, and when the
read model is too far behind (a new pod catching up, a rebuild) answers UNAVAILABLE, to be
retried: not NOT_FOUND, as if the event were not in the log."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import code_pb2

from services.core.projection import READ_YOUR_WRITES_SECONDS
from services.core.generated.postroom.v1 import dispatch_pb2
from tests.integration.dispatch.dispatch_support import METADATA, email, save_provider


async def test_a_provider_saved_beyond_the_read_model_is_unavailable_not_missing(
    service, stub, store, dispatch_settings, sink
):
    (runner,) = service.components.projections
    await runner.stop()  # the read model stands still, as one far behind the log
    await save_provider(store, dispatch_settings, sink)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.SendEmail(email(), metadata=METADATA, timeout=READ_YOUR_WRITES_SECONDS + 10)

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "dispatch read model is catching up" in refused.value.details()
    assert "save it first" not in refused.value.details()


async def test_a_batch_to_a_provider_beyond_the_read_model_waits_once(service, stub, store, dispatch_settings, sink):
    (runner,) = service.components.projections
    await runner.stop()
    await save_provider(store, dispatch_settings, sink)
    batch = dispatch_pb2.SendEmailBatchRequest(messages=[email(f"r{i}@example.org") for i in range(5)])

    # Within one wait and a margin: five waits, one per email, would miss the deadline.
    answer = await stub.SendEmailBatch(batch, metadata=METADATA, timeout=READ_YOUR_WRITES_SECONDS + 3)

    assert [result.error_code for result in answer.results] == [code_pb2.UNAVAILABLE] * 5
    assert all("catching up" in result.error_message for result in answer.results)


async def test_a_provider_the_read_model_reaches_in_time_is_found(service, stub, store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)  # the runner reads it within the wait

    accepted = await stub.SendEmail(email(), metadata=METADATA, timeout=READ_YOUR_WRITES_SECONDS + 10)

    assert accepted.dispatch_id
