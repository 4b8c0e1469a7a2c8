"""Traces (OpenTelemetry over OTLP/gRPC) when POSTROOM_OTLP_ENDPOINT names a collector.

One email is one trace: the gRPC call, the EmailQueued append, the worker's delivery, the SMTP
send and the outcome's append. The W3C trace context crosses the queue in the event envelope
(`Event.trace_parent`, set by `new_event` from the current span) and in the NATS message's
`traceparent` header; whoever handles the event continues that trace. Feedback about a
dispatch links its spans to the dispatch's trace.

Without an endpoint nothing here imports OpenTelemetry, and each hook is one check of a module
global: tracing costs nothing then.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

TRACEPARENT = "traceparent"  # the W3C header name, in gRPC metadata and NATS headers

_tracer: Any = None
_provider: Any = None


def configure(endpoint: str, service: str) -> None:
    """Export this process's spans to the OTLP/gRPC collector at `endpoint` (http://host:4317)."""
    global _tracer, _provider
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    _provider = TracerProvider(resource=Resource.create({"service.name": f"postroom-{service}"}))
    _provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=not endpoint.startswith("https:")))
    )
    trace.set_tracer_provider(_provider)
    _tracer = _provider.get_tracer("postroom")


def flush() -> None:
    """Export what is buffered now (blocking: call it off the event loop)."""
    if _provider is not None:
        _provider.force_flush()


def shutdown() -> None:
    """Send what is buffered; called as the service stops."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def enabled() -> bool:
    return _tracer is not None


def current_trace_parent() -> str:
    """The current span's W3C traceparent, or "" (no span, or tracing off)."""
    if _tracer is None:
        return ""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get(TRACEPARENT, "")


@contextlib.contextmanager
def span(
    name: str, *, parent: str = "", kind: str = "INTERNAL", attributes: dict[str, Any] | None = None
) -> Iterator[None]:
    """A span around the block; `parent` (a traceparent) continues another process's trace."""
    if _tracer is None:
        yield
        return
    from opentelemetry.trace import SpanKind

    with _tracer.start_as_current_span(
        name, context=_context_of(parent) if parent else None, kind=SpanKind[kind], attributes=attributes
    ):
        yield


def link_current_span(trace_parent: str, **attributes: Any) -> None:
    """Link the current span to another trace (feedback to the dispatch it is about)."""
    if _tracer is None or not trace_parent:
        return
    from opentelemetry import trace

    linked = trace.get_current_span(_context_of(trace_parent)).get_span_context()
    trace.get_current_span().add_link(linked, attributes or None)


def _context_of(trace_parent: str):
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({TRACEPARENT: trace_parent})
