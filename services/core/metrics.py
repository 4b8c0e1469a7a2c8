"""Prometheus metrics shared by every service, and the /metrics endpoint."""

from __future__ import annotations

import functools
from typing import Callable, TypeVar

from prometheus_client import Counter, Gauge, Histogram, start_http_server
from prometheus_client.metrics import MetricWrapperBase

EVENTS_APPENDED = Counter("postroom_events_appended_total", "Events appended to the stream", ["type"])
PROJECTION_LAG = Gauge("postroom_projection_lag_events", "Stream events not yet applied", ["projection"])
PROJECTION_APPLIED = Counter("postroom_projection_events_applied_total", "Events applied", ["projection"])
PROJECTION_CHECKPOINT = Gauge("postroom_projection_checkpoint", "Last applied stream sequence", ["projection"])
GRPC_REQUESTS = Counter("postroom_grpc_requests_total", "gRPC calls by method and code", ["method", "code"])
GRPC_LATENCY = Histogram("postroom_grpc_latency_seconds", "gRPC call latency", ["method"])
APPEND_RETRIES = Counter(
    "postroom_event_append_retries_total",
    "Appends tried again after a hiccup of the event log (no responders, timeout, leader election)",
)
OWED_APPENDS = Gauge("postroom_owed_appends", "Appends this process owes the log and is still retrying")
EVENT_LOG_OVERDUE = Gauge(
    "postroom_event_log_overdue",
    "1 while an owed append has waited past POSTROOM_LOG_OUTAGE_DEADLINE (the service is NOT_SERVING)",
)
HTTP_REQUESTS = Counter("postroom_http_requests_total", "HTTP requests by route and status", ["route", "status"])


Metric = TypeVar("Metric", bound=MetricWrapperBase)


def cached_labels(metric: Metric) -> Callable[..., Metric]:
    """`metric.labels(*values)`, remembered. prometheus_client validates the values and takes a
    lock on every call, which showed on the per-email and per-request paths; label values here
    come from small sets (event types, codes, routes), and an evicted child is simply looked up again."""
    return functools.lru_cache(maxsize=1024)(metric.labels)


events_appended = cached_labels(EVENTS_APPENDED)
http_requests = cached_labels(HTTP_REQUESTS)


def start_metrics_server(host: str, port: int) -> None:
    if port:
        start_http_server(port, addr=host)
