"""Calls past POSTROOM_DISPATCH_ACCEPTING_EMAILS wait their turn and are answered as before:
nothing is refused, every email is queued once and sent (services/dispatch/acceptance_budget.py)."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import replace

import grpc

from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.runtime import start_service
from services.dispatch import main as dispatch_main
from services.dispatch.metrics import ACCEPTANCE_WAITS
from tests.integration.dispatch.dispatch_support import FAST, METADATA, email, save_provider, wait_for_status

BUDGET = 5


async def test_calls_past_the_budget_wait_and_every_email_is_queued_and_sent(store, dispatch_settings, sink):
    await save_provider(store, dispatch_settings, sink)
    settings = replace(dispatch_settings, dispatch_accepting_emails=BUDGET)
    service = await start_service("dispatch", settings, functools.partial(dispatch_main.build, timings=FAST))
    waits_before = ACCEPTANCE_WAITS._value.get()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            batches = [
                dispatch_pb2.SendEmailBatchRequest(messages=[email(to=f"b{b}-{i}@example.org") for i in range(size)])
                for b, size in enumerate((BUDGET, BUDGET, BUDGET + 2, 1))  # one larger than the whole budget
            ]
            answers = await asyncio.gather(
                *(stub.SendEmailBatch(batch, metadata=METADATA) for batch in batches),
                *(stub.SendEmail(email(to=f"single{i}@example.org"), metadata=METADATA) for i in range(3)),
            )
            results = [r for answer in answers[: len(batches)] for r in answer.results]
            assert [r.error_code for r in results] == [0] * (3 * BUDGET + 3)
            dispatch_ids = [r.dispatch_id for r in results] + [a.dispatch_id for a in answers[len(batches) :]]
            assert len(set(dispatch_ids)) == 3 * BUDGET + 6
            for dispatch_id in dispatch_ids:
                assert (
                    await wait_for_status(stub, dispatch_id, dispatch_pb2.DISPATCHED)
                ).status == dispatch_pb2.DISPATCHED
    finally:
        await service.stop()
    assert ACCEPTANCE_WAITS._value.get() > waits_before  # the budget held calls back
    assert len(sink.received) == 3 * BUDGET + 6
