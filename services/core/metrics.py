"""Prometheus metrics shared by every service, and the /metrics endpoint."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

EVENTS_APPENDED = Counter("postroom_events_appended_total", "Events appended to the stream", ["type"])
PROJECTION_LAG = Gauge("postroom_projection_lag_events", "Stream events not yet applied", ["projection"])
PROJECTION_APPLIED = Counter("postroom_projection_events_applied_total", "Events applied", ["projection"])
PROJECTION_CHECKPOINT = Gauge("postroom_projection_checkpoint", "Last applied stream sequence", ["projection"])
GRPC_REQUESTS = Counter("postroom_grpc_requests_total", "gRPC calls by method and code", ["method", "code"])
GRPC_LATENCY = Histogram("postroom_grpc_latency_seconds", "gRPC call latency", ["method"])
HTTP_REQUESTS = Counter("postroom_http_requests_total", "HTTP requests by route and status", ["route", "status"])


def start_metrics_server(host: str, port: int) -> None:
    if port:
        start_http_server(port, addr=host)
