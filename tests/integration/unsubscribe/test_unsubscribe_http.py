"""The public one-click endpoint over real HTTP, a real nats-server and the real service."""

from __future__ import annotations

import asyncio
import string
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from yarl import URL

from services.core.generated.postroom.v1 import unsubscribe_pb2
from services.core.ids import recipient_hash
from services.core.runtime import start_service
from services.core.secret_box import generate_key_spec
from services.core.unsubscribe_token import UnsubscribeTokens
from services.unsubscribe.http import SECURITY_HEADERS
from services.unsubscribe.main import build
from tests.integration.unsubscribe.conftest import AUTH
from tests.support.unsubscribe import subscription_events, tokens_of

ACCOUNT = "acme"
EMAIL = "Reader@Example.com"
NOW = datetime.now(UTC)
GMAIL_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


@pytest.fixture
def token(unsubscribe_settings) -> str:
    return tokens_of(unsubscribe_settings).issue(ACCOUNT, EMAIL, "weekly-news", "d-1", issued_at=NOW)


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes


async def one_click(http, base_url: str, token: str) -> Answer:
    async with http.post(
        f"{base_url}/u/{token}", data=ONE_CLICK_BODY, headers=GMAIL_HEADERS, allow_redirects=False
    ) as response:
        return Answer(response.status, dict(response.headers), await response.read())


async def test_gmail_one_click_twice_appends_one_event(http, base_url, token, store):
    for _ in range(2):
        response = await one_click(http, base_url, token)
        assert response.status == 200
        assert "Location" not in response.headers and "Set-Cookie" not in response.headers
        assert len(response.body) < 64
    events = await subscription_events(store, "unsubscribed")
    assert len(events) == 1
    event = events[0].event
    assert event.account_id == ACCOUNT
    assert event.aggregate_type == "subscription"
    assert event.unsubscribed.recipient_hash == recipient_hash(EMAIL)
    assert event.unsubscribed.recipient == "reader@example.com"
    assert (event.unsubscribed.list_id, event.unsubscribed.source, event.unsubscribed.dispatch_id) == (
        "weekly-news",
        "one-click",
        "d-1",
    )


async def test_multipart_one_click(http, base_url, token, store):
    form = aiohttp.FormData()
    form.add_field("List-Unsubscribe", "One-Click")
    form._is_multipart = True
    async with http.post(f"{base_url}/u/{token}", data=form, allow_redirects=False) as response:
        assert response.status == 200
        assert response.request_info.headers["Content-Type"].startswith("multipart/form-data")
    assert len(await subscription_events(store, "unsubscribed")) == 1


async def test_racing_one_click_posts_append_one_event(http, base_url, token, store):
    responses = await asyncio.gather(*(one_click(http, base_url, token) for _ in range(8)))
    assert [r.status for r in responses] == [200] * 8
    assert len(await subscription_events(store, "unsubscribed")) == 1


async def test_get_shows_the_list_and_changes_nothing(http, base_url, token, store):
    for _ in range(3):  # a scanner, a previewer, the person
        async with http.get(f"{base_url}/u/{token}") as response:
            assert response.status == 200
            page = await response.text()
    assert "weekly-news" in page and '<form method="post">' in page and "<button" in page
    assert 'lang="en"' in page
    assert "reader@example.com" not in page.lower()
    assert await subscription_events(store) == []


async def test_page_unsubscribe_then_resubscribe(http, base_url, token, store, unsubscribe):
    async with http.post(f"{base_url}/u/{token}", data={"action": "unsubscribe"}) as response:
        assert response.status == 200
        page = await response.text()
    assert "You are unsubscribed" in page and "weekly-news" in page and 'value="resubscribe"' in page
    status = await unsubscribe.GetStatus(
        unsubscribe_pb2.GetStatusRequest(account_id=ACCOUNT, email=EMAIL), metadata=AUTH
    )
    assert list(status.unsubscribed_lists) == ["weekly-news"] and not status.globally_unsubscribed

    async with http.post(f"{base_url}/u/{token}", data={"action": "resubscribe"}) as response:
        assert response.status == 200
        assert "subscribed again" in await response.text()
    assert [e.event.unsubscribed.source or e.event.resubscribed.source for e in await subscription_events(store)] == [
        "link",
        "link",
    ]
    status = await unsubscribe.GetStatus(
        unsubscribe_pb2.GetStatusRequest(account_id=ACCOUNT, email=EMAIL), metadata=AUTH
    )
    assert list(status.unsubscribed_lists) == []


def tampered_tokens(token: str, settings) -> dict[str, str]:
    def flip(i: int) -> str:
        return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]

    old = datetime.now(UTC) - timedelta(days=400)
    return {
        "first-char": flip(0),
        "middle-char": flip(len(token) // 2),
        "last-char": flip(len(token) - 1),
        "truncated": token[:-3],
        "extended": token + "AA",
        "empty-ish": "x",
        "rekeyed": UnsubscribeTokens.from_spec(generate_key_spec("u1")).issue(ACCOUNT, EMAIL, issued_at=NOW),
        "unknown-kid": UnsubscribeTokens.from_spec(generate_key_spec("zz")).issue(ACCOUNT, EMAIL, issued_at=NOW),
        "expired": tokens_of(settings).issue(ACCOUNT, EMAIL, issued_at=old),
        "percent": token[:5] + "%25" + token[5:],
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_bad_tokens_are_refused_alike_and_append_nothing(http, token, store, unsubscribe_settings, method):
    expiring = replace(unsubscribe_settings, unsubscribe_token_max_age_days=365)
    service = await start_service("unsubscribe", expiring, build)
    base = f"http://127.0.0.1:{service.components.http[0].port}"
    try:
        bodies = set()
        for name, bad in tampered_tokens(token, unsubscribe_settings).items():
            async with http.request(
                method,
                URL(f"{base}/u/{bad}", encoded=True),
                data=ONE_CLICK_BODY,
                headers=GMAIL_HEADERS,
                allow_redirects=False,
            ) as response:
                assert response.status == 400, name
                bodies.add(await response.text())
                assert response.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
        assert len(bodies) == 1  # no hint which check failed
        assert await subscription_events(store) == []
        # the untouched token still works on the expiring service
        async with http.post(f"{base}/u/{token}", data=ONE_CLICK_BODY, headers=GMAIL_HEADERS) as response:
            assert response.status == 200
    finally:
        await service.stop()


async def test_a_token_for_account_a_cannot_act_on_account_b(http, base_url, unsubscribe_settings, store, unsubscribe):
    token_a = tokens_of(unsubscribe_settings).issue("account-a", EMAIL, issued_at=NOW)
    assert (await one_click(http, base_url, token_a)).status == 200
    events = await subscription_events(store)
    assert [e.event.account_id for e in events] == ["account-a"]
    for account, expected in (("account-a", True), ("account-b", False)):
        status = await unsubscribe.GetStatus(
            unsubscribe_pb2.GetStatusRequest(account_id=account, email=EMAIL), metadata=AUTH
        )
        assert status.globally_unsubscribed is expected


async def test_post_without_one_click_body_is_refused(http, base_url, token, store):
    for data, headers in (
        (b"", GMAIL_HEADERS),
        (b"List-Unsubscribe=Two-Clicks", GMAIL_HEADERS),
        (b'{"List-Unsubscribe": "One-Click"}', {"Content-Type": "application/json"}),
        (b"--x\r\nbroken", {"Content-Type": "multipart/form-data; boundary=x"}),
    ):
        async with http.post(f"{base_url}/u/{token}", data=data, headers=headers) as response:
            assert response.status == 400
            assert "List-Unsubscribe=One-Click" in await response.text()
    assert await subscription_events(store) == []


async def test_security_headers_everywhere_and_no_redirects(http, base_url, token):
    for path in (
        f"/u/{token}",
        f"/u/{token}?next=https://evil.example",
        "/u/bad",
        "/nope",
        "//evil.example/",
        f"/u/{token}/extra",
        "/u/",
    ):
        async with http.get(f"{base_url}{path}", allow_redirects=False) as response:
            assert response.status in (200, 400, 404), path
            assert "Location" not in response.headers
            for name, value in SECURITY_HEADERS.items():
                assert response.headers.get(name) == value, (path, name)
    async with http.get(f"{base_url}/nope") as response:
        assert response.status == 404


PATH_CHARS = string.ascii_letters + string.digits + "-_./%?#&=;:@!$'()*+,~ \\\"<>{}|^`[]\x00\xff"


async def test_fuzzed_paths_never_give_a_5xx(base_url, token):
    """Random paths, methods and bodies, sent byte for byte (aiohttp's client would normalise them)."""
    host, port = base_url.removeprefix("http://").split(":")
    statuses = []

    @hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"]),
        prefix=st.sampled_from(["/u/", "/", "/u/" + token, "/u/" + token[:20], "/healthz/"]),
        tail=st.text(PATH_CHARS, max_size=60),
        body=st.binary(max_size=200),
    )
    def fuzz(method, prefix, tail, body):
        statuses.append(
            asyncio.run_coroutine_threadsafe(raw_request(host, int(port), method, prefix + tail, body), loop).result(
                timeout=10
            )
        )

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(fuzz)
    assert len(statuses) >= 100 and all(status < 500 for status in statuses), sorted(set(statuses))


async def raw_request(host: str, port: int, method: str, path: str, body: bytes) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    target = path.encode("latin-1", errors="replace").replace(b" ", b"%20").replace(b"\x00", b"%00")
    writer.write(
        b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (method.encode(), target, len(body), body)
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1]) if status_line else 400
