"""`postroom provider resume`, as a process against a running dispatch service: it lifts a pause
after failed logins without a save, and records who resumed it and why."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from services.core.generated.postroom.v1 import dispatch_pb2
from tests.conftest import TEST_TOKEN
from tests.integration.dispatch.dispatch_support import PROVIDER, save_provider, wait_for_status
from tests.integration.dispatch.test_dispatch_failures import send_many, wait_for_event

REPO = Path(__file__).resolve().parents[3]


async def postroom(settings, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "POSTROOM_API_TOKEN": TEST_TOKEN,
        "POSTROOM_DISPATCH_GRPC_PORT": str(settings.ports.dispatch_grpc),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_provider_resume_lifts_a_failures_pause_and_records_who_and_why(stub, store, dispatch_settings, sink):
    rejected = "an-SMTP-password-SES-no-longer-accepts"
    await save_provider(store, dispatch_settings, sink, password=rejected)
    ids = await send_many(stub, 4)
    assert (await wait_for_event(store, "provider_health", PROVIDER)).event.type == "ProviderPaused"

    sink.handler.password = rejected  # the IAM user's SMTP credentials were re-activated in AWS
    code, out, err = await postroom(
        dispatch_settings,
        "provider",
        "resume",
        "--account",
        "acme",
        "--provider",
        PROVIDER,
        "--by",
        "ops@acme.test",
        "--reason",
        "SMTP user re-activated",
    )
    assert code == 0, err
    answer = json.loads(out)
    assert answer["provider_id"] == PROVIDER and "Invalid Credentials" in answer["lifted"][0]
    for dispatch_id in ids:
        assert (await wait_for_status(stub, dispatch_id, dispatch_pb2.DISPATCHED)).status == dispatch_pb2.DISPATCHED
    resumed = (await store.last_event("provider_health", PROVIDER)).event
    assert (resumed.type, resumed.provider_resumed.resumed_by, resumed.provider_resumed.reason) == (
        "ProviderResumed",
        "ops@acme.test",
        "SMTP user re-activated",
    )

    code, _, err = await postroom(
        dispatch_settings,
        "provider",
        "resume",
        "--account",
        "acme",
        "--provider",
        PROVIDER,
        "--by",
        "ops@acme.test",
        "--reason",
        "again",
    )
    assert code == 1 and err.startswith("FAILED_PRECONDITION") and "no pause to lift" in err
