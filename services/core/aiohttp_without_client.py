"""aiohttp's web server, loaded without its HTTP client.

aiohttp's `__init__` imports its client (sessions, connectors, cookie jars, digest auth, ...) and
with it 3.7 MB of a process that only serves HTTP: unsubscribe's pages and the health and SNS
endpoints (`services/core/http_server.py`) need `aiohttp.web` alone. The package is put in place
without running its `__init__` (`services/core/package_in_parts.py`), with the `__version__` its
own modules ask it for; the first client name asked for (`aiohttp.ClientSession`, in feedback and
the SES stand-in) runs it as aiohttp wrote it. `services/__init__.py` does this after nats-py has
been loaded without aiohttp, before anything imports aiohttp.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from services.core.package_in_parts import load_in_parts

PACKAGE = "aiohttp"
VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)


def import_aiohttp_without_client() -> None:
    if PACKAGE in sys.modules:
        return  # loaded whole already
    version = _declared_version()
    if version is not None:  # otherwise this aiohttp says its version another way: load it whole
        load_in_parts(PACKAGE, preset={"__version__": version})


def _declared_version() -> str | None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        return None
    declared = VERSION_LINE.search(Path(spec.origin).read_text(encoding="utf-8"))
    return declared.group(1) if declared else None
