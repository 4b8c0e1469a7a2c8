"""Which services exist, and how to build each: the CLI's only knowledge of them."""

from __future__ import annotations

import importlib
from types import ModuleType

SERVICE_MODULES = {
    "config": "services.config.main",
    "dispatch": "services.dispatch.main",
    "feedback": "services.feedback.main",
    "unsubscribe": "services.unsubscribe.main",
}


def service_module(name: str) -> ModuleType:
    if name not in SERVICE_MODULES:
        raise SystemExit(f"unknown service {name!r}; choose one of {', '.join(SERVICE_MODULES)}")
    return importlib.import_module(SERVICE_MODULES[name])


DEV_METRICS_BASE_PORT = 9101  # `postroom dev` serves each service's /metrics from here on, in the order above


def dev_metrics_port(name: str) -> int:
    return DEV_METRICS_BASE_PORT + list(SERVICE_MODULES).index(name)
