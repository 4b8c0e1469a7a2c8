"""Every metric the dashboard and the alert rules name is exported by a running suite, with the
labels they group and match on (a renamed metric or label would leave a panel or an alert blind)."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.settings import SERVICES
from tests.e2e.suite import AUTH, Suite, eventually, simple_email
from tests.support.promql import needed

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ACCOUNT = "metrics"


def named_by_dashboard_and_rules() -> dict[str, set[str]]:
    dashboard = json.loads((DEPLOY / "grafana" / "postroom-dashboard.json").read_text())
    rules = yaml.safe_load((DEPLOY / "prometheus" / "postroom-rules.yml").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    return needed(exprs)


def exported(suite: Suite, earlier: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    labels: dict[str, set[str]] = {name: set(found) for name, found in (earlier or {}).items()}
    for name in SERVICES:
        for family in text_string_to_metric_families(suite.metrics(name)):
            for sample in family.samples:
                labels.setdefault(sample.name, set()).update(sample.labels)
    return labels


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    running = Suite(tmp_path_factory.mktemp("metrics-suite")).start()
    yield running
    running.close()


async def test_every_metric_the_dashboard_and_rules_name_is_exported_with_its_labels(suite):
    saved = suite.save_sim_provider(ACCOUNT)
    provider = json.loads(saved.stdout)["provider"]
    suite.cli("ses-sim", "--url", suite.sim_url, "subscribe", "--endpoint", provider["callback_url"])
    async with suite.channel("dispatch") as channel:
        dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel)
        await dispatch.SendEmail(
            simple_email(ACCOUNT, provider["provider_id"], "bounce@simulator.amazonses.com"), metadata=AUTH
        )
        with pytest.raises(grpc.aio.AioRpcError):  # an error, for the gRPC errors panel
            await dispatch.GetDispatch(
                dispatch_pb2.GetDispatchRequest(account_id=ACCOUNT, dispatch_id="none"), metadata=AUTH
            )

        async def bounced():
            answer = await dispatch.GetRecipientSuppression(
                dispatch_pb2.GetRecipientSuppressionRequest(account_id=ACCOUNT, email="bounce@simulator.amazonses.com"),
                metadata=AUTH,
            )
            return answer.suppressed

        await eventually(bounced, timeout=60)
    before_restart = exported(suite)  # the counters of the SNS deliveries so far
    suite.restart("feedback")  # publishes every provider's rates once caught up (then each minute)

    wanted = named_by_dashboard_and_rules()

    async def all_exported():
        have = exported(suite, before_restart)
        missing = {
            metric: labels - have.get(metric, set())
            for metric, labels in wanted.items()
            if metric not in have or not labels <= have[metric]
        }
        return not missing or None

    try:
        await eventually(all_exported, timeout=30, interval=0.5)
    except AssertionError:
        have = exported(suite, before_restart)
        missing = {
            metric: sorted(labels - have.get(metric, set())) if metric in have else "not exported"
            for metric, labels in wanted.items()
            if metric not in have or not labels <= have[metric]
        }
        raise AssertionError(f"named by the dashboard or rules but not exported as used: {missing}") from None
