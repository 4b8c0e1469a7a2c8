"""The inbox page and JSON API show accepted messages; message bodies never run in the page."""

from email.message import EmailMessage

import aiohttp

from tests.integration.ses_sim.conftest import PDF, PNG, email, send, with_attachments


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
        assert (
            details["text"].strip() == "Hi Jane"
            and {"name": "Subject", "value": "=?utf-8?q?Caf=C3=A9?= menu"} in details["headers"]
        )
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
    assert (
        "script-src" not in headers["Content-Security-Policy"]
        and "default-src 'none'" in headers["Content-Security-Policy"]
    )
    status, _, page = await get(f"{simulator.web_url}/messages/{ses_id}")
    assert status == 200 and "<script>" not in page
    assert "<iframe sandbox " in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page


async def test_healthz(simulator):
    status, _, text = await get(f"{simulator.web_url}/healthz")
    assert (status, text) == (200, "ok\n")


async def test_attachments_and_inline_parts_are_listed_and_downloadable(simulator):
    _, reply = await send(simulator, with_attachments())
    ses_id = reply.removeprefix("Ok ")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{simulator.web_url}/api/messages/{ses_id}") as answer:
            details = await answer.json()
        parts = details["attachments"]
        assert [(p["filename"], p["media_type"], p["size"], p["content_id"], p["disposition"]) for p in parts] == [
            ("logo.png", "image/png", len(PNG), "logo@example.com", "inline"),
            ("Rechnung März.pdf", "application/pdf", len(PDF), None, "attachment"),
        ]
        async with http.get(f"{simulator.web_url}{parts[1]['url']}") as answer:
            assert answer.status == 200 and await answer.read() == PDF
            assert answer.headers["Content-Type"] == "application/pdf"
            assert (
                answer.headers["Content-Disposition"]
                == "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
            )
            assert "sandbox" in answer.headers["Content-Security-Policy"]
        async with http.get(f"{simulator.web_url}/messages/{ses_id}/attachments/2") as answer:
            assert answer.status == 404
    status, _, page = await get(f"{simulator.web_url}/messages/{ses_id}")
    assert status == 200 and f"/messages/{ses_id}/attachments/1" in page and "Rechnung März.pdf" in page
    assert "cid:<code>logo@example.com</code>" in page


async def test_an_rfc_2047_file_name_is_decoded(simulator):
    raw = (
        b"From: news@example.com\r\nTo: jane@customer.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
        b'Content-Type: text/plain\r\nContent-Disposition: attachment; filename="=?utf-8?q?K=C3=B6ln.txt?="\r\n'
        b"\r\nbody\r\n--b--\r\n"
    )
    assert (await send(simulator, raw))[0] == 250
    [kept] = simulator.inbox.newest_first()
    assert [(p.filename, p.size) for p in kept.parts] == [("Köln.txt", 4)] and kept.data == raw
