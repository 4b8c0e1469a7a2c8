"""Building the MIME message: safe headers, RFC 2047, Message-ID, List-Unsubscribe."""

from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_bytes, policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.dispatch.domain import DISPATCH_ID_TAG, EmailRequest, Mailbox
from services.dispatch.message import DISPATCH_ID_HEADER, Sender, UnsafeHeader, build_message

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
SENDER = Sender("news@example.com", "Acme News")


def build(**overrides):
    values = dict(
        account_id="acme", provider_id="p", to=(Mailbox("bob@example.org", "Bob"),), subject="Hello", text_body="Hi Bob"
    )
    values.update(overrides)
    return build_message(EmailRequest(**values), dispatch_id="d-1", sender=SENDER, now=NOW)


def parse(data: bytes):
    return message_from_bytes(data, policy=policy.default)


def test_the_message_carries_its_dispatch_id_message_id_and_date():
    built = build(
        cc=(Mailbox("c@example.org"),),
        bcc=(Mailbox("hidden@example.org"),),
        headers=(("X-Campaign", "spring"),),
        tags=(("campaign", "spring"), ("kind", "news")),
    )
    parsed = parse(built.data)
    assert parsed[DISPATCH_ID_HEADER] == "d-1"
    assert parsed["Message-ID"].endswith("@example.com>")
    assert parsed["Date"] == "Fri, 02 Jan 2026 03:04:05 +0000"
    assert parsed["From"] == "Acme News <news@example.com>"
    assert parsed["X-Campaign"] == "spring"
    assert parsed["X-SES-MESSAGE-TAGS"] == "postroom-dispatch-id=d-1, campaign=spring, kind=news"
    assert "Bcc" not in parsed and b"hidden@example.org" not in built.data
    assert built.recipients == ("bob@example.org", "c@example.org", "hidden@example.org")
    assert built.envelope_from == "news@example.com"


def test_the_dispatch_id_tag_is_the_one_feedback_reads_back():
    from services.feedback.ses_feedback import DISPATCH_ID_TAG as FEEDBACK_READS

    assert DISPATCH_ID_TAG == FEEDBACK_READS
    assert parse(build().data)["X-SES-MESSAGE-TAGS"] == f"{DISPATCH_ID_TAG}=d-1"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200))
def test_any_subject_without_line_breaks_survives_the_round_trip(subject):
    built = build(subject=subject)
    assert built.data.isascii()
    # Whitespace after the colon belongs to the header's syntax: a parser drops it, as mail clients
    # do, so " 0 " comes back "0 " (and a folded or encoded subject may come back stripped).
    assert parse(built.data)["Subject"] in (subject, subject.lstrip(), subject.strip())


def test_a_utf8_subject_with_spaces_and_emoji_is_rfc2047_encoded():
    subject = "Grüße  aus Köln 🎉 — mit  doppelten Leerzeichen"
    built = build(subject=subject, to=(Mailbox("bob@example.org", "Zoë"),))
    header_block = built.data.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in header_block and header_block.isascii()
    assert parse(built.data)["Subject"] == subject
    assert parse(built.data)["To"].addresses[0].display_name == "Zoë"


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "Hi\r\nBcc: x@example.org"},
        {"to": (Mailbox("bob@example.org", "Bob\nBcc: x@example.org"),)},
        {"headers": (("X-A", "v\rBcc: x@example.org"),)},
    ],
)
def test_a_line_break_anywhere_in_a_header_is_refused(overrides):
    with pytest.raises(UnsafeHeader):
        build(**overrides)


def test_an_unsafe_sender_name_is_refused_too():
    with pytest.raises(UnsafeHeader) as refused:
        build_message(
            EmailRequest("acme", "p", to=(Mailbox("b@example.org"),), subject="s", text_body="t"),
            dispatch_id="d",
            sender=Sender("a@example.com", "Evil\r\nBcc: x@example.org"),
            now=NOW,
        )
    assert refused.value.field_name == "from_address.name"


def test_list_unsubscribe_headers_are_added_as_given():
    headers = {
        "List-Unsubscribe": "<https://u.example/u/tok>, <mailto:u@example.com?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    built = build_message(
        EmailRequest("acme", "p", to=(Mailbox("b@example.org"),), subject="s", text_body="t"),
        dispatch_id="d",
        sender=SENDER,
        now=NOW,
        unsubscribe_headers=headers,
    )
    parsed = parse(built.data)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["List-Unsubscribe"] == headers["List-Unsubscribe"]


def test_a_long_unsubscribe_url_stays_whole_and_unencoded():
    url = "https://unsubscribe.example.com/u/" + "A1b2-_" * 40
    headers = {
        "List-Unsubscribe": f"<{url}>, <mailto:u@example.com?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    built = build_message(
        EmailRequest("acme", "p", to=(Mailbox("b@example.org"),), subject="s", text_body="t", html_body="<p>t</p>"),
        dispatch_id="d",
        sender=SENDER,
        now=NOW,
        unsubscribe_headers=headers,
    )
    assert f"List-Unsubscribe: <{url}>,\r\n <mailto:".encode() in built.data
    assert b"=?utf-8?" not in built.data
    assert parse(built.data).get_body(("html",)).get_content().strip() == "<p>t</p>"


def test_html_only_and_both_bodies():
    html_only = parse(build(text_body="", html_body="<p>Hi</p>").data)
    assert html_only.get_content_type() == "text/html"
    both = parse(build(html_body="<p>Hi ✓</p>").data)
    assert both.get_content_type() == "multipart/alternative"
    assert both.get_body(("html",)).get_content().strip() == "<p>Hi ✓</p>"


def test_suppressed_recipients_leave_the_envelope_and_the_headers():
    built = build_message(
        EmailRequest("acme", "p", to=(Mailbox("a@example.org"), Mailbox("b@example.org")), subject="s", text_body="t"),
        dispatch_id="d",
        sender=SENDER,
        now=NOW,
        recipients=(Mailbox("b@example.org"),),
    )
    assert built.recipients == ("b@example.org",) and b"a@example.org" not in built.data
