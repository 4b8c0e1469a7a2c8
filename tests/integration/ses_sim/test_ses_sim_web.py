"""The inbox page and JSON API show accepted messages; message bodies never run in the page."""

from email.message import EmailMessage

import aiohttp

from tests.integration.ses_sim.conftest import email, send


async def get(url: str) -> tuple[int, dict, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        return answer.status, dict(answer.headers), await answer.text()


async def test_the_json_api_lists_an_accepted_message(simulator):
    _, reply = await send(simulator, email(subject="=?utf-8?q?Caf=C3=A9?= menu", to="jane@customer.test"))
    await send(simulator, email(to="someone@else.test"))
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{simulator.web_url}/api/messages", params={"to": "jane@customer.test"}) as answer:
            listing = await answer.json()
        [summary] = listing["messages"]
        assert f"Ok {summary['id']}" == reply and summary["subject"] == "Café menu"
        assert summary["recipients"] == ["jane@customer.test"] and summary["from"] == "News <news@example.com>"
        async with http.get(f"{simulator.web_url}/api/messages/{summary['id']}") as answer:
            details = await answer.json()
        assert details["text"].strip() == "Hi Jane" and {"name": "Subject", "value": "=?utf-8?q?Caf=C3=A9?= menu"} \
            in details["headers"]
        async with http.get(f"{simulator.web_url}/api/messages/nope") as answer:
            assert answer.status == 404


async def test_the_page_escapes_text_and_sandboxes_html(simulator):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "news@example.com", "j@customer.test", "<b>hi</b>"
    message.set_content("plain <script>alert(1)</script>")
    message.add_alternative("<p>Hello</p><script>alert(2)</script>", subtype="html")
    _, reply = await send(simulator, message)
    ses_id = reply.removeprefix("Ok ")

    status, headers, inbox = await get(f"{simulator.web_url}/")
    assert status == 200 and ses_id in inbox and "&lt;b&gt;hi&lt;/b&gt;" in inbox and "<b>hi</b>" not in inbox
    assert "script-src" not in headers["Content-Security-Policy"] and "default-src 'none'" in \
        headers["Content-Security-Policy"]
    status, _, page = await get(f"{simulator.web_url}/messages/{ses_id}")
    assert status == 200 and "<script>" not in page
    assert "<iframe sandbox " in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page


async def test_healthz(simulator):
    status, _, text = await get(f"{simulator.web_url}/healthz")
    assert (status, text) == (200, "ok\n")
