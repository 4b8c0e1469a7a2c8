"""The public pages (pure): small, accessible HTML with no script, one inline style and no links out.

The style's hash goes into the Content-Security-Policy, so nothing else may run or load.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1a1a1a;background:#fff}"
    "button{font:inherit;padding:.6rem 1.2rem;border:2px solid #1a1a1a;border-radius:.3rem;"
    "background:#1a1a1a;color:#fff;cursor:pointer}"
    "button:focus{outline:3px solid #1f6feb;outline-offset:2px}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

ONE_CLICK_DONE = "Unsubscribed.\n"
FORM_FIELD = "action"
UNSUBSCRIBE_ACTION = "unsubscribe"
RESUBSCRIBE_ACTION = "resubscribe"


def _what(list_id: str) -> str:
    if list_id:
        return f"the mailing list \u201c{escape(list_id)}\u201d"
    return "all emails from this sender"


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _form(action: str, label: str) -> str:
    # No action attribute: the form posts back to this very URL, whatever host the ingress serves.
    return (
        f'<form method="post"><input type="hidden" name="{FORM_FIELD}" value="{action}">'
        f'<button type="submit">{label}</button></form>'
    )


def confirm_page(list_id: str) -> str:
    return _page(
        "Unsubscribe",
        (
            f"<h1>Unsubscribe from {_what(list_id)}?</h1>"
            f"<p>Press the button to stop receiving {_what(list_id)}. Nothing changes until you do.</p>"
            + _form(UNSUBSCRIBE_ACTION, "Unsubscribe")
        ),
    )


def unsubscribed_page(list_id: str) -> str:
    return _page(
        "Unsubscribed",
        (
            '<h1 id="outcome">You are unsubscribed</h1>'
            f'<p role="status">You will no longer receive {_what(list_id)}.</p>'
            "<p>Unsubscribed by mistake?</p>" + _form(RESUBSCRIBE_ACTION, "Resubscribe")
        ),
    )


def resubscribed_page(list_id: str) -> str:
    return _page(
        "Subscribed again",
        (
            '<h1 id="outcome">You are subscribed again</h1>'
            f'<p role="status">You will receive {_what(list_id)} again.</p>' + _form(UNSUBSCRIBE_ACTION, "Unsubscribe")
        ),
    )


def invalid_link_page() -> str:
    # Deliberately the same for every failure: no hint whether an address or account exists.
    return _page(
        "Link not valid",
        (
            "<h1>This unsubscribe link is not valid</h1>"
            "<p>It may have been copied incompletely. Use the unsubscribe link in the latest email you received, "
            "or reply to the sender.</p>"
        ),
    )


def bad_request_page(reason: str) -> str:
    return _page("Bad request", f"<h1>Bad request</h1><p>{escape(reason)}</p>")
