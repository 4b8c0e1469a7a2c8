"""Writes Postroom's monitoring files from their one source each:

  deploy/prometheus/postroom-rules.yml  ->  deploy/k8s/monitoring/prometheusrule.yaml (PrometheusRule)
  the dashboard below                   ->  deploy/grafana/postroom-dashboard.json
                                            deploy/k8s/monitoring/grafana-dashboard.yaml (ConfigMap for
                                            the Grafana sidecar, label grafana_dashboard: "1")

Run `python deploy/render_monitoring.py` after changing either; tests/deploy/test_monitoring.py fails
while the committed files differ from what this writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent
sys.path.insert(0, str(DEPLOY.parent))
from services.dispatch.metrics import GUARD_LINE_METRIC
from services.feedback.domain import (
    BOUNCE_PAUSE_RATE,
    BOUNCE_REVIEW_RATE,
    COMPLAINT_PAUSE_RATE,
    COMPLAINT_REVIEW_RATE,
)

RULES = DEPLOY / "prometheus" / "postroom-rules.yml"
DASHBOARD = DEPLOY / "grafana" / "postroom-dashboard.json"
MONITORING = DEPLOY / "k8s" / "monitoring"


def _panel(
    title: str,
    targets: list[tuple[str, str]],
    unit: str = "short",
    thresholds: list | None = None,
    description: str = "",
) -> dict:
    defaults: dict = {"unit": unit, "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0}}
    if thresholds:
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None}, *thresholds]}
        defaults["custom"]["thresholdsStyle"] = {"mode": "line+area"}
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def _line(value: float, color: str) -> dict:
    return {"color": color, "value": value}


def panels() -> list[dict]:
    provider = [
        _panel(
            "Sends/s against the allowed rate",
            [
                (
                    'sum by (provider) (rate(postroom_dispatch_outcomes_total{outcome="EmailDispatched"}[1m]))',
                    "{{provider}} sent/s",
                ),
                ("max by (provider) (postroom_dispatch_send_rate)", "{{provider}} allowed/s"),
            ],
            unit="reqps",
            description="Emails dispatched per second (an email may have several recipients), and "
            "the shared rate in force in recipients per second (the provider's limit, "
            "lowered for a while after SES throttling).",
        ),
        _panel(
            "Bounce rate (SES review 5 %, pause 10 %)",
            [
                ("max by (account_id, provider_id) (postroom_feedback_bounce_rate)", "{{account_id}}.{{provider_id}}"),
                (f'max by (provider) ({GUARD_LINE_METRIC}{{kind="bounce"}})', "guard line {{provider}}"),
            ],
            unit="percentunit",
            thresholds=[_line(BOUNCE_REVIEW_RATE, "orange"), _line(BOUNCE_PAUSE_RATE, "red")],
        ),
        _panel(
            "Complaint rate (SES review 0.1 %, pause 0.5 %)",
            [
                (
                    "max by (account_id, provider_id) (postroom_feedback_complaint_rate)",
                    "{{account_id}}.{{provider_id}}",
                ),
                (f'max by (provider) ({GUARD_LINE_METRIC}{{kind="complaint"}})', "guard line {{provider}}"),
            ],
            unit="percentunit",
            thresholds=[_line(COMPLAINT_REVIEW_RATE, "orange"), _line(COMPLAINT_PAUSE_RATE, "red")],
        ),
        _panel(
            "Paused providers",
            [("max by (provider_id) (postroom_provider_paused)", "{{provider_id}}")],
            description="1 while dispatch holds a provider after repeated failures; `postroom status` says why.",
        ),
        _panel(
            "Queue depth (the shared consumer's pending count)",
            [
                ("max (postroom_dispatch_queue_pending)", "not yet delivered"),
                ("max (postroom_dispatch_queue_ack_pending)", "with a worker"),
            ],
            description="One durable consumer serves every provider, so the depth is the suite's.",
        ),
        _panel(
            "Outcomes by status",
            [
                ("sum by (provider, outcome) (rate(postroom_dispatch_outcomes_total[5m]))", "{{provider}} {{outcome}}"),
            ],
            unit="reqps",
        ),
    ]
    suite = [
        _panel(
            "Projection lag",
            [("max by (projection) (postroom_projection_lag_events)", "{{projection}}")],
            description="Stream events each projection has not applied yet.",
        ),
        _panel(
            "SNS answers by status code",
            [
                ("sum by (status) (rate(postroom_feedback_sns_deliveries_total[5m]))", "{{status}}"),
            ],
            unit="reqps",
        ),
        _panel(
            "gRPC errors by method",
            [
                ('sum by (method, code) (rate(postroom_grpc_requests_total{code!="OK"}[5m]))', "{{method}} {{code}}"),
            ],
            unit="reqps",
        ),
        _panel(
            "Send calls waiting to be accepted",
            [("sum (rate(postroom_dispatch_acceptance_waits_total[5m]))", "waited/s")],
            unit="reqps",
            description="SendEmail and SendEmailBatch calls that waited for room among the emails a dispatch "
            "process accepts at once (POSTROOM_DISPATCH_ACCEPTING_EMAILS); steady waiting means the replicas "
            "take mail in more slowly than it comes",
        ),
    ]
    laid_out = [
        {"type": "row", "title": "Per provider", "collapsed": False, "panels": []},
        *provider,
        {"type": "row", "title": "Suite", "collapsed": False, "panels": []},
        *suite,
    ]
    y = 0
    for index, panel in enumerate(laid_out):
        panel["id"] = index + 1
        if panel["type"] == "row":
            y += 1
            panel["gridPos"] = {"x": 0, "y": y - 1, "w": 24, "h": 1}
            column = 0
            continue
        panel["gridPos"] = {"x": column * 12, "y": y, "w": 12, "h": 8}
        column = (column + 1) % 2
        if column == 0:
            y += 8
    return laid_out


def dashboard() -> dict:
    return {
        "uid": "postroom",
        "title": "Postroom",
        "tags": ["postroom", "ses"],
        "schemaVersion": 39,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]
        },
        "panels": panels(),
    }


def prometheus_rule() -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "postroom", "labels": {"app.kubernetes.io/part-of": "postroom"}},
        "spec": yaml.safe_load(RULES.read_text()),
    }


def dashboard_configmap(dashboard_json: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "postroom-grafana-dashboard",
            "labels": {"grafana_dashboard": "1", "app.kubernetes.io/part-of": "postroom"},
        },
        "data": {"postroom.json": dashboard_json},
    }


def rendered() -> dict[Path, str]:
    header = "# Written by deploy/render_monitoring.py; edit its sources, then run it.\n"
    dashboard_json = json.dumps(dashboard(), indent=2) + "\n"
    return {
        DASHBOARD: dashboard_json,
        MONITORING / "prometheusrule.yaml": header + yaml.safe_dump(prometheus_rule(), sort_keys=False, width=200),
        MONITORING / "grafana-dashboard.yaml": header
        + yaml.safe_dump(dashboard_configmap(dashboard_json), sort_keys=False, width=200),
    }


if __name__ == "__main__":
    for path, text in rendered().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(DEPLOY.parent)}", file=sys.stderr)
