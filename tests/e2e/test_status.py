"""`postroom status` against a running suite: its providers, projections and stream, for a person and as JSON."""

from __future__ import annotations

import json

import pytest

from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from tests.e2e.suite import AUTH, Suite, eventually

ACCOUNT = "status"


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    running = Suite(tmp_path_factory.mktemp("status-suite")).start()
    yield running
    running.close()


def metrics_env(suite: Suite) -> dict[str, str]:
    return {
        f"POSTROOM_{name.upper()}_METRICS_URL": f"http://127.0.0.1:{port}/metrics"
        for name, port in suite.metrics_ports.items()
    }


async def test_status_shows_each_provider_projection_and_the_stream(suite):
    saved = suite.save_sim_provider(ACCOUNT, "--max-send-rate", "7")
    provider_id = json.loads(saved.stdout)["provider"]["provider_id"]
    async with suite.channel("dispatch") as channel:
        dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel)
        sent = await dispatch.SendEmail(
            dispatch_pb2.SendEmailRequest(
                account_id=ACCOUNT,
                provider_id=provider_id,
                subject="Hello",
                text_body="Hi",
                to=[events_pb2.EmailAddress(address="success@simulator.amazonses.com")],
            ),
            metadata=AUTH,
        )

        async def dispatched():
            answer = await dispatch.GetDispatch(
                dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id=sent.dispatch_id), metadata=AUTH
            )
            return answer.status == dispatch_pb2.DISPATCHED

        await eventually(dispatched, timeout=60)

    report = json.loads(suite.cli("status", "--json", "--sample", "0.2", extra_env=metrics_env(suite)).stdout)
    (provider,) = [p for p in report["providers"] if p["provider_id"] == provider_id]
    assert provider["account_id"] == ACCOUNT and provider["paused"] is False
    assert provider["allowed_per_second"] == 7.0 and provider["sends_per_second"] is not None
    assert report["lines"]["bounce"] == {"review": 0.05, "pause": 0.10}
    assert {"config", "dispatch", "feedback", "unsubscribe"} <= {
        name.split(".")[0] for name in report["projection_lag"]
    }
    assert report["stream"]["messages"] > 0 and report["stream"]["bytes"] > 0 and report["stream"]["replicas"] == 1
    assert report["queue_pending"] is not None and report["unreachable"] == {}

    screen = suite.cli("status", "--sample", "0.2", extra_env=metrics_env(suite)).stdout
    assert f"{ACCOUNT}.{provider_id}  sending" in screen and "7.0/s recipients allowed" in screen
    assert "NATS stream" in screen and "Projections" in screen and "SES review 5.0%, pause 10.0%" in screen


def test_status_names_a_service_whose_metrics_do_not_answer(suite):
    env = dict(metrics_env(suite), POSTROOM_UNSUBSCRIBE_METRICS_URL="http://127.0.0.1:9/metrics")
    screen = suite.cli("status", "--sample", "0", extra_env=env).stdout
    assert "the unsubscribe service's metrics did not answer at http://127.0.0.1:9/metrics" in screen
