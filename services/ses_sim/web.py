"""The simulator's web page (a local mail catcher) and its JSON API.

Message bodies are untrusted: text is escaped, and an HTML body is shown only inside a sandboxed
iframe (no scripts, a unique origin), under a page CSP that allows no script at all.
"""

from __future__ import annotations

import json
from html import escape
from typing import cast
from urllib.parse import quote

from aiohttp import web

from services.ses_sim.attachments import MessagePart, part_content
from services.ses_sim.inbox import Inbox, KeptMessage
from services.ses_sim.sns_publisher import SnsPublisher
from services.ses_sim.sns_topics import SubscriptionError

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; base-uri 'none'; "
    "form-action 'none'"
)
_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}"
    "code{font-size:12px}pre{white-space:pre-wrap;background:#f6f6f6;padding:1em}"
    "iframe{width:100%;height:30em;border:1px solid #ccc}"
)


def _page(title: str, body: str) -> web.Response:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return web.Response(
        text=html,
        content_type="text/html",
        headers={
            "Content-Security-Policy": _CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def _json_body_error(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=400)


def content_disposition(filename: str | None, index: int) -> str:
    """`attachment` with the file name (RFC 6266): an ASCII fallback and the exact name in UTF-8."""
    name = filename or f"part-{index}"
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _sending_options(message: KeptMessage) -> str:
    """The region, configuration set and tenant a message was sent with, for the inbox table."""
    found = [
        f"{label}: {escape(value)}"
        for label, value in (("set", message.configuration_set), ("tenant", message.tenant))
        if value
    ]
    return "<br>".join([escape(message.region), *found])


def _part_row(message: KeptMessage, part: MessagePart) -> str:
    name = part.filename or f"(unnamed part {part.index})"
    cid = f" &middot; cid:<code>{escape(part.content_id)}</code>" if part.content_id else ""
    return (
        f"<li><a href='{escape(message.part_url(part))}'>{escape(name)}</a> ({escape(part.media_type)}, "
        f"{part.size:,} bytes{', ' + escape(part.disposition) if part.disposition else ''}){cid}</li>"
    )


class InboxWeb:
    def __init__(self, inbox: Inbox, publisher: SnsPublisher, default_topic_arn: str) -> None:
        self.inbox = inbox
        self.publisher = publisher
        self.default_topic_arn = default_topic_arn

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.inbox_page),
            web.get("/messages/{id}", self.message_page),
            web.get("/messages/{id}/raw", self.raw_message),
            web.get("/messages/{id}/attachments/{index}", self.download_part),
            web.get("/api/messages", self.list_messages),
            web.get("/api/messages/{id}", self.get_message),
            web.delete("/api/messages", self.clear_messages),
            web.get("/api/subscriptions", self.list_subscriptions),
            web.post("/api/subscriptions", self.create_subscription),
        ]

    def _message(self, request: web.Request) -> KeptMessage:
        message = self.inbox.get(request.match_info["id"])
        if message is None:
            raise web.HTTPNotFound(text="no such message (the simulator keeps messages of this run only)\n")
        return message

    async def inbox_page(self, _: web.Request) -> web.Response:
        rows = "".join(
            f"<tr><td>{escape(m.received_at.strftime('%Y-%m-%d %H:%M:%S'))}</td><td>{escape(m.header('From'))}</td>"
            f"<td>{escape(', '.join(m.recipients))}</td>"
            f"<td><a href='/messages/{escape(m.ses_message_id)}'>{escape(m.header('Subject') or '(no subject)')}</a>"
            f"</td><td>{len(m.parts) or ''}</td><td>{_sending_options(m)}</td>"
            f"<td><code>{escape(m.ses_message_id)}</code></td></tr>"
            for m in self.inbox.newest_first(500)
        )
        return _page(
            "SES simulator inbox",
            f"<h1>SES simulator inbox</h1><p>{len(self.inbox)} message(s) kept. "
            "JSON: <a href='/api/messages'>/api/messages</a></p><table><tr><th>Received</th><th>From</th>"
            "<th>Recipients</th><th>Subject</th><th>Attachments</th><th>Region, set, tenant</th>"
            f"<th>SES message id</th></tr>{rows}</table>",
        )

    async def message_page(self, request: web.Request) -> web.Response:
        message = self._message(request)
        details = message.details()
        headers = "".join(
            f"<tr><th>{escape(h['name'])}</th><td>{escape(h['value'])}</td></tr>" for h in details["headers"]
        )
        parts = "".join(_part_row(message, part) for part in message.parts)
        parts_html = f"<h2>Attachments and inline parts</h2><ul>{parts}</ul>" if parts else ""
        html_part = (
            (
                f"<h2>HTML</h2><iframe sandbox referrerpolicy='no-referrer' srcdoc=\"{escape(details['html'])}\">"
                "</iframe>"
            )
            if details["html"]
            else ""
        )
        return _page(
            details["subject"] or "message",
            (
                f"<p><a href='/'>&larr; inbox</a> &middot; <a href='/messages/{escape(message.ses_message_id)}/raw'>raw"
                f"</a></p><h1>{escape(details['subject'] or '(no subject)')}</h1><p>Envelope: from "
                f"{escape(message.mail_from)} to {escape(', '.join(message.recipients))}; SES message id "
                f"<code>{escape(message.ses_message_id)}</code>; sent with {_sending_options(message) or 'no options'}"
                f"</p><table>{headers}</table>{parts_html}"
                f"<h2>Text</h2><pre>{escape(details['text'])}</pre>{html_part}"
            ),
        )

    async def raw_message(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._message(request).data,
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff"},
        )

    async def download_part(self, request: web.Request) -> web.Response:
        message = self._message(request)
        index = request.match_info["index"]
        found = part_content(message.data, int(index)) if index.isdigit() else None
        if found is None:
            raise web.HTTPNotFound(
                text=f"message {message.ses_message_id} has no attachment {index} (it has {len(message.parts)})\n"
            )
        part, content = found
        # Served as a download that cannot run in this origin, whatever the sender said it is.
        return web.Response(
            body=content,
            headers={
                "Content-Type": part.media_type,
                "Content-Disposition": content_disposition(part.filename, part.index),
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )

    async def list_messages(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return _json_body_error("limit must be a whole number")
        recipient, region = request.query.get("to", "").lower(), request.query.get("region", "")
        messages = [
            m.summary()
            for m in self.inbox.newest_first()
            if (not recipient or recipient in (r.lower() for r in m.recipients)) and (not region or m.region == region)
        ]
        return web.json_response({"messages": messages[: max(0, limit)], "total": len(messages)})

    async def get_message(self, request: web.Request) -> web.Response:
        return web.json_response(self._message(request).details())

    async def clear_messages(self, _: web.Request) -> web.Response:
        return web.json_response({"deleted": self.inbox.clear()})

    async def list_subscriptions(self, _: web.Request) -> web.Response:
        return web.json_response({"subscriptions": [s.as_json() for s in self.publisher.topics.all()]})

    async def create_subscription(self, request: web.Request) -> web.Response:
        try:
            document = json.loads(await request.read() or b"{}")
        except (ValueError, UnicodeDecodeError):
            return _json_body_error('the body must be JSON: {"endpoint": "https://...", "topic_arn": "..."}')
        if not isinstance(document, dict):
            return _json_body_error("the body must be a JSON object")
        try:
            subscription = self.publisher.subscribe(  # subscribe() refuses an endpoint that is not a URL string
                str(document.get("topic_arn") or self.default_topic_arn), cast(str, document.get("endpoint"))
            )
        except SubscriptionError as error:
            return web.json_response({"error": error.message, "code": error.code}, status=error.status)
        return web.json_response(subscription.as_json(), status=201 if not subscription.confirmed else 200)
