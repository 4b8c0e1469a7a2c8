"""The end of the chain: a permanent bounce from SNS makes dispatch refuse the address.

Both services run in-process on the same stream; the bounce goes in through the SNS endpoint and
comes out as dispatch's suppression (GetRecipientSuppression in dispatch.proto).
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.runtime import start_service
from tests.conftest import TEST_TOKEN
from tests.integration.feedback.conftest import FeedbackHarness
from tests.support import ses_feedback_messages as ses
from tests.support.sns_signing import notification

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("services.dispatch") is None,
    reason="services.dispatch does not exist yet: this test runs once the dispatch service lands",
)

METADATA = (("authorization", f"Bearer {TEST_TOKEN}"),)
SUPPRESSION_SECONDS = 10.0


async def suppression(stub: dispatch_pb2_grpc.DispatchServiceStub, email: str) -> dispatch_pb2.Suppression:
    return await stub.GetRecipientSuppression(
        dispatch_pb2.GetRecipientSuppressionRequest(account_id="acct-1", email=email), metadata=METADATA
    )


async def eventually_suppressed(stub: dispatch_pb2_grpc.DispatchServiceStub, email: str) -> dispatch_pb2.Suppression:
    deadline = asyncio.get_running_loop().time() + SUPPRESSION_SECONDS
    while True:
        found = await suppression(stub, email)
        if found.suppressed or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_permanent_bounce_makes_dispatch_refuse_the_address(
    pinned_feedback: FeedbackHarness, tmp_path: Path
) -> None:
    from services.dispatch.main import build as build_dispatch

    harness = pinned_feedback
    await harness.save_provider()
    # Its own data directory: each service keeps its own read model, as in production.
    dispatch = await start_service(
        "dispatch", replace(harness.service.settings, data_dir=tmp_path / "dispatch"), build_dispatch
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{dispatch.grpc_port}") as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            assert not (await suppression(stub, "gone@example.com")).suppressed

            status, reason = await harness.post_signed(notification(ses.bounce(["Gone@Example.com"])))
            assert status == 200, reason

            found = await eventually_suppressed(stub, "gone@example.com")
            assert (found.suppressed, found.reason) == (True, "hard_bounce")
            soft = notification(ses.bounce(["busy@example.com"], bounce_type="Transient"))
            assert (await harness.post_signed(soft))[0] == 200
            await asyncio.sleep(0.5)
            assert not (await suppression(stub, "busy@example.com")).suppressed  # one soft bounce is not enough
    finally:
        await dispatch.stop()
