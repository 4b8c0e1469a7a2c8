"""JSON logs, one object per line, with every known secret masked before it is written."""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import datetime, timezone

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_MAX_SECRETS = 10_000
_MASK = "[redacted]"
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def register_secret(value: str) -> None:
    """Remember a secret so no log line can carry it, whatever code path leaks it."""
    if len(value) >= 4:
        with _secrets_lock:
            if len(_secrets) < _MAX_SECRETS:
                _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
