"""nats-py, loaded without its WebSocket transport.

When imported, nats-py imports aiohttp for a WebSocket transport Postroom never uses (its NATS URLs
are nats:// or tls://, `Settings.nats_servers`): aiohttp and what it loads are 8 MB of each
process, of nothing in config and dispatch, which serve no HTTP. nats-py imported while aiohttp
cannot be imported leaves the transport out; aiohttp stays importable for the services that
serve HTTP. `services/__init__.py` does this first, before anything imports nats-py."""

from __future__ import annotations

import sys


def import_nats_without_websockets() -> None:
    if "nats" in sys.modules or "aiohttp" in sys.modules:
        return  # too late to leave it out, or loaded anyway
    sys.modules["aiohttp"] = None  # type: ignore[assignment]  # meanwhile, `import aiohttp` fails
    try:
        import nats.aio.transport  # noqa: F401
    finally:
        del sys.modules["aiohttp"]
