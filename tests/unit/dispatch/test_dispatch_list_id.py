"""List-Id (RFC 2919): the list a message belongs to, as Gmail's bulk-sender rules ask."""

from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_bytes, policy

from services.dispatch.domain import EmailRequest, Mailbox, request_violations
from services.dispatch.list_id import list_id_value
from services.dispatch.message import Sender, build_message


def request(**fields) -> EmailRequest:
    values = dict(account_id="acme", provider_id="p", to=(Mailbox("bob@example.org"),), subject="Hi", text_body="Hi")
    values.update(fields)
    return EmailRequest(**values)


def test_a_list_id_names_the_list_within_the_account_under_the_senders_domain():
    assert list_id_value(request(list_id="weekly-news"), "news@Example.COM") == "<weekly-news.acme.example.com>"


def test_list_ids_that_are_not_dot_atoms_become_one():
    assert (
        list_id_value(request(list_id="Promo:2026/Q1+vip@x"), "n@example.com")
        == "<promo-2026-q1-vip-x.acme.example.com>"
    )
    assert list_id_value(request(list_id="a..b"), "n@example.com") == "<a.b.acme.example.com>"


def test_other_list_mail_gets_the_accounts_list_and_transactional_mail_none():
    assert list_id_value(request(), "n@example.com") == "<acme.example.com>"
    assert list_id_value(request(transactional=True), "n@example.com") is None


def test_the_header_is_in_the_message_and_callers_cannot_set_it():
    built = build_message(
        request(list_id="weekly"), dispatch_id="d-1", sender=Sender("news@example.com"), now=datetime.now(timezone.utc)
    )
    assert message_from_bytes(built.data, policy=policy.default)["List-Id"] == "<weekly.acme.example.com>"
    refused = request_violations(request(headers=(("List-Id", "<x.example.com>"),)))
    assert [v.field for v in refused] == ["headers[List-Id]"]
