"""cryptography's Rust library (about 8 MB resident) is in no idle service: each loads it with the
first secret it seals or opens, the first SNS signature it checks, the first unsubscribe token it
issues or opens (services/core/secret_box.py, services/feedback/sns_verifier.py,
services/core/unsubscribe_token.py), and then the product page's steps work as before."""

from __future__ import annotations

import json
from pathlib import Path

from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.settings import SERVICES
from tests.e2e.suite import AUTH, Suite, eventually, simple_email

ACCOUNT = "first-use"
RUST_LIBRARY = "cryptography/hazmat/bindings/_rust"


def holding_cryptography(suite: Suite) -> set[str]:
    return {name for name in SERVICES if RUST_LIBRARY in Path(f"/proc/{suite.processes[name].pid}/maps").read_text()}


async def test_services_load_cryptography_with_their_first_secret_or_signature(tmp_path):
    suite = Suite(tmp_path).start()
    try:
        assert holding_cryptography(suite) == set()

        provider = json.loads(suite.save_sim_provider(ACCOUNT).stdout)["provider"]  # config seals the passwords
        suite.cli("ses-sim", "--url", suite.sim_url, "subscribe", "--endpoint", provider["callback_url"])
        await eventually(_async(lambda: "feedback" in holding_cryptography(suite)))  # the confirmation's signature
        async with suite.channel("dispatch") as channel:
            dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel)
            queued = await dispatch.SendEmail(
                simple_email(ACCOUNT, provider["provider_id"], "success@simulator.amazonses.com"), metadata=AUTH
            )
            request = dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=queued.dispatch_id)
            await eventually(
                lambda: _status_is(dispatch, request, dispatch_pb2.DISPATCHED)  # dispatch opened them
            )
        assert holding_cryptography(suite) == {"config", "dispatch", "feedback"}
    finally:
        suite.close()


async def _status_is(dispatch, request, status) -> bool:
    return (await dispatch.GetDispatch(request, metadata=AUTH)).status == status


def _async(check):
    async def run():
        return check()

    return run
