"""The landing page in a real headless Chromium, driven over the DevTools protocol (aiohttp websocket).

Skipped, saying why, only when no Chromium binary is installed (`apt-get install -y chromium`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from services.core.event_store import EventStore
from services.core.runtime import start_service
from services.unsubscribe.main import build
from tests.support.unsubscribe import subscription_events, tokens_of, with_unsubscribe_key

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
)


def chromium_binary() -> str | None:
    configured = os.environ.get("POSTROOM_CHROMIUM", "")
    if configured and Path(configured).exists():
        return configured
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


class Chromium:
    """One headless browser with a fresh profile, and one page target spoken to over CDP."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.process = subprocess.Popen(
            [binary, *HEADLESS_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.profile = profile
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._events: asyncio.Queue = asyncio.Queue()

    async def connect(self, session: aiohttp.ClientSession) -> None:
        port = await self._devtools_port()
        async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json(content_type=None)
        page = next(t for t in targets if t["type"] == "page")
        self.socket = await session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        await self.send("Page.enable")

    async def _devtools_port(self, timeout: float = 30.0) -> int:
        # Chromium writes the port it chose for --remote-debugging-port=0 into the profile.
        port_file = self.profile / "DevToolsActivePort"
        deadline = asyncio.get_running_loop().time() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            assert asyncio.get_running_loop().time() < deadline, "chromium did not open its DevTools port"
            await asyncio.sleep(0.05)
        return int(port_file.read_text().split()[0])

    async def _read(self) -> None:
        async for message in self.socket:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
            else:
                await self._events.put(data)

    async def send(self, method: str, **params) -> dict:
        ident = next(self._ids)
        self._pending[ident] = asyncio.get_running_loop().create_future()
        await self.socket.send_json({"id": ident, "method": method, "params": params})
        answer = await asyncio.wait_for(self._pending[ident], 15)
        assert "error" not in answer, answer
        return answer["result"]

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for_load(self) -> None:
        while (await asyncio.wait_for(self._events.get(), 15)).get("method") != "Page.loadEventFired":
            pass

    async def close(self) -> None:
        if getattr(self, "socket", None) is not None:
            await self.socket.close()
            self._reader.cancel()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def test_the_page_button_unsubscribes_in_a_real_browser(settings, tmp_path):
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary found (install Debian's: apt-get install -y chromium)")
    unsubscribe_settings = with_unsubscribe_key(settings)
    service = await start_service("unsubscribe", unsubscribe_settings, build)
    store = await EventStore.connect(unsubscribe_settings, name="browser-test-reader")
    browser = Chromium(binary, tmp_path / "profile")
    token = tokens_of(unsubscribe_settings).issue(
        "acme", "reader@example.com", "Weekly news", issued_at=datetime.now(UTC)
    )
    url = f"http://127.0.0.1:{service.components.http[0].port}/u/{token}"
    try:
        async with aiohttp.ClientSession() as session:
            await browser.connect(session)
            await browser.send("Page.navigate", url=url)
            await browser.wait_for_load()
            assert "Weekly news" in await browser.evaluate("document.querySelector('h1').innerText")
            assert await subscription_events(store) == []  # loading the page changed nothing
            # The inline style applies: its hash in the Content-Security-Policy is right.
            assert (
                await browser.evaluate("getComputedStyle(document.querySelector('button')).backgroundColor")
                == "rgb(26, 26, 26)"
            )

            await browser.evaluate("document.querySelector('button[type=submit]').click()")
            await browser.wait_for_load()
            assert await browser.evaluate("document.getElementById('outcome').innerText") == "You are unsubscribed"
            assert "Weekly news" in await browser.evaluate("document.querySelector('[role=status]').innerText")
            assert await browser.evaluate("!!document.querySelector('button[type=submit]')")  # resubscribe
    finally:
        await browser.close()
        await store.close()
        await service.stop()
    store = await EventStore.connect(unsubscribe_settings, name="browser-test-check")
    try:
        events = await subscription_events(store)
    finally:
        await store.close()
    assert [(e.event.WhichOneof("payload"), e.event.unsubscribed.source) for e in events] == [("unsubscribed", "link")]
