"""With POSTROOM_OTLP_ENDPOINT set, one SendEmail is one trace: accept, queue, send and outcome."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from tests.integration.dispatch.dispatch_support import METADATA, email, save_provider, wait_for_status, wait_until
from tests.support.otlp_receiver import OtlpTraceReceiver
from tests.support.service_process import ServiceProcess, service_environment


@pytest.fixture
async def receiver():
    started = await OtlpTraceReceiver().start()
    yield started
    await started.stop()


@pytest.fixture
async def traced_dispatch(settings, receiver, tmp_path):
    env = service_environment(settings, POSTROOM_OTLP_ENDPOINT=receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY="100")
    process = ServiceProcess.fresh("dispatch", env, tmp_path, "dispatch").start()
    yield process
    # Off the event loop: the stopping process sends its last spans to the receiver this loop serves.
    await asyncio.to_thread(process.stop, 10)


async def test_one_send_email_is_one_trace_from_the_call_to_the_outcome(
    settings, stream_store, sink, traced_dispatch, receiver
):
    await save_provider(stream_store, settings, sink)
    await traced_dispatch.wait_until_serving()
    async with grpc.aio.insecure_channel(traced_dispatch.grpc_address) as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        accepted = await stub.SendEmail(email(), metadata=METADATA)
        assert (
            await wait_for_status(stub, accepted.dispatch_id, dispatch_pb2.DISPATCHED)
        ).status == dispatch_pb2.DISPATCHED
    wanted = [
        "postroom.v1.DispatchService/SendEmail",
        "append EmailQueued",
        "dispatch-workers EmailQueued",
        "smtp send",
        "append EmailDispatched",
    ]
    assert await wait_until(lambda: all(receiver.named(name) for name in wanted), timeout=20), (
        f"spans seen: {sorted({span.name for _, span in receiver.spans})}"
    )
    call = receiver.named("postroom.v1.DispatchService/SendEmail")[0]
    spans = {name: receiver.named(name)[0] for name in wanted}
    assert {span.trace_id for span in spans.values()} == {call.trace_id}, "one trace from the call to the outcome"
    assert spans["dispatch-workers EmailQueued"].parent_span_id == spans["append EmailQueued"].parent_span_id, (
        "the worker continues the trace of the call that queued the email"
    )
    assert spans["smtp send"].parent_span_id == spans["dispatch-workers EmailQueued"].span_id
    assert {service for service, _ in receiver.spans} == {"postroom-dispatch"}
