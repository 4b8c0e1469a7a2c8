"""The alert rules fire where they should (`promtool test rules`), the dashboard draws SES's lines,
and the committed PrometheusRule, dashboard JSON and ConfigMap are what deploy/render_monitoring.py writes."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.promql import needed

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def render_monitoring():
    spec = importlib.util.spec_from_file_location("render_monitoring", DEPLOY / "render_monitoring.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rule_exprs() -> list[str]:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "postroom-rules.yml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "postroom-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_committed_monitoring_files_are_what_the_renderer_writes():
    for path, text in render_monitoring().rendered().items():
        assert path.read_text() == text, f"{path} is stale: run python deploy/render_monitoring.py"


def test_the_prometheus_rule_and_the_dashboard_configmap_carry_the_sources():
    rule = yaml.safe_load((DEPLOY / "k8s" / "monitoring" / "prometheusrule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule" and rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"] == yaml.safe_load((DEPLOY / "prometheus" / "postroom-rules.yml").read_text())
    configmap = yaml.safe_load((DEPLOY / "k8s" / "monitoring" / "grafana-dashboard.yaml").read_text())
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(configmap["data"]["postroom.json"]) == json.loads(
        (DEPLOY / "grafana" / "postroom-dashboard.json").read_text()
    )


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not installed (Debian package `prometheus`; `make test` installs it as root)",
)
def test_alert_rules_fire_over_their_lines_and_stay_quiet_under_them():
    for command in (["check", "rules", "postroom-rules.yml"], ["test", "rules", "postroom-rules.test.yml"]):
        done = subprocess.run(
            ["promtool", *command], cwd=DEPLOY / "prometheus", capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_rule_tests_cover_every_rule():
    rules = {
        rule["alert"]
        for group in yaml.safe_load((DEPLOY / "prometheus" / "postroom-rules.yml").read_text())["groups"]
        for rule in group["rules"]
    }
    tests = yaml.safe_load((DEPLOY / "prometheus" / "postroom-rules.test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case.get("exp_alerts")}
    assert tested == rules


def test_the_rate_panels_draw_ses_review_and_pause_lines():
    dashboard = json.loads((DEPLOY / "grafana" / "postroom-dashboard.json").read_text())
    by_title = {panel["title"].split(" (")[0]: panel for panel in dashboard["panels"]}
    for title, lines in (("Bounce rate", [0.05, 0.10]), ("Complaint rate", [0.001, 0.005])):
        steps = by_title[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [step["value"] for step in steps[1:]] == lines, title
    for title in (
        "Sends/s against the allowed rate",
        "Paused providers",
        "Queue depth",
        "Outcomes by status",
        "Projection lag",
        "SNS answers by status code",
        "gRPC errors by method",
    ):
        assert title in by_title, title


def test_every_expression_names_one_metric_and_its_labels():
    wanted = needed(rule_exprs() + dashboard_exprs())
    assert wanted["postroom_dispatch_outcomes_total"] == {"provider", "outcome"}
    assert wanted["postroom_feedback_bounce_rate"] == {"account_id", "provider_id"}


def test_the_rules_use_ses_lines_as_the_feedback_domain_states_them():
    from services.feedback import domain

    lines = {
        (expr.split("(")[-1].split(")")[0], float(expr.rsplit(">=", 1)[1])) for expr in rule_exprs() if ">=" in expr
    }
    assert lines == {
        ("postroom_feedback_bounce_rate", domain.BOUNCE_REVIEW_RATE),
        ("postroom_feedback_bounce_rate", domain.BOUNCE_PAUSE_RATE),
        ("postroom_feedback_complaint_rate", domain.COMPLAINT_REVIEW_RATE),
        ("postroom_feedback_complaint_rate", domain.COMPLAINT_PAUSE_RATE),
    }
