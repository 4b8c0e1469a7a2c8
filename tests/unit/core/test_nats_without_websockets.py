"""nats-py without its WebSocket transport: config and dispatch load no aiohttp, and a ws:// URL
is refused with the reason instead of failing inside nats-py."""

import subprocess
import sys

import pytest

from services.core.settings import Settings

# aiohttp's modules loaded, and whether its package ran (services/core/aiohttp_without_client.py
# puts the package in place unrun, which loads nothing)
LOADED_AIOHTTP = (
    "import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('aiohttp.')),"
    " 'ClientSession' in vars(sys.modules.get('aiohttp', sys)))"
)


@pytest.mark.parametrize("module", ["services.config.main", "services.dispatch.main", "services.cli.main"])
def test_services_that_serve_no_http_load_no_aiohttp(module):
    loaded = subprocess.run(
        [sys.executable, "-c", LOADED_AIOHTTP.format(module=module)], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[] False"


def test_the_services_that_serve_http_still_load_it_beside_nats():
    loaded = subprocess.run(
        [sys.executable, "-c", LOADED_AIOHTTP.format(module="services.feedback.main")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "'aiohttp.web'" in loaded.stdout


@pytest.mark.parametrize("url", ["nats://127.0.0.1:4222", "tls://nats.internal:4222", "127.0.0.1:4222"])
def test_nats_and_tls_urls_are_taken(url):
    assert Settings(nats_url=f"{url}, nats://other:4222").nats_servers == [url, "nats://other:4222"]


@pytest.mark.parametrize("url", ["ws://nats.internal:8080", "wss://user:secret@nats.internal:443"])
def test_a_websocket_url_is_refused_with_the_reason_and_no_secret(url):
    with pytest.raises(SystemExit) as refused:
        _ = Settings(nats_url=url).nats_servers
    assert "use nats:// or tls://" in str(refused.value)
    assert "secret" not in str(refused.value)
