"""The metrics and labels a PromQL expression names: what a dashboard or a rule needs exported."""

from __future__ import annotations

import re

_METRIC = re.compile(r"\b(postroom_[a-z0-9_]+)\b")
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_MATCHERS = re.compile(r"\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
# Target labels Prometheus adds when it scrapes a pod; no process exports them itself.
TARGET_LABELS = {"namespace", "pod", "job", "instance"}


def metric_and_labels(expr: str) -> tuple[str, set[str]]:
    """Our expressions read one metric each; the labels are those grouped by and matched on."""
    metrics = set(_METRIC.findall(expr))
    assert len(metrics) == 1, f"expected one postroom metric in {expr!r}, found {metrics}"
    labels = {label.strip() for group in _GROUPING.findall(expr) for label in group.split(",") if label.strip()}
    labels |= {label for matchers in _MATCHERS.findall(expr) for label in _MATCHER_LABEL.findall(matchers)}
    return metrics.pop(), labels - TARGET_LABELS


def needed(exprs: list[str]) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {}
    for expr in exprs:
        metric, labels = metric_and_labels(expr)
        wanted.setdefault(metric, set()).update(labels)
    return wanted
