"""When content may leave the store, and what an EmailQueued carries of it (pure)."""

from __future__ import annotations

from services.core.content_store import digest_of_reference, reference_of, sha256_of
from services.dispatch import events
from services.dispatch.content import ContentRef, ContentRefs, Hold, QueuedPart, removable
from services.dispatch.domain import EmailRequest, Mailbox

DAY = 86400.0
NOW = 1_000_000_000.0


def test_recently_touched_content_stays_whatever_the_read_model_says():
    assert not removable(NOW - 10, None, NOW, retention=DAY, orphan_grace=60)


def test_content_no_dispatch_names_is_an_orphan_once_the_grace_is_over():
    assert removable(NOW - 61, None, NOW, retention=DAY, orphan_grace=60)


def test_content_of_an_open_dispatch_stays_however_old():
    assert not removable(
        NOW - 30 * DAY, Hold(open=True, last_settled_at=NOW - 20 * DAY), NOW, retention=DAY, orphan_grace=60
    )


def test_content_goes_once_the_retention_after_the_last_outcome_is_over():
    assert not removable(NOW - 2 * DAY, Hold(False, NOW - DAY + 1), NOW, retention=DAY, orphan_grace=60)
    assert removable(NOW - 2 * DAY, Hold(False, NOW - DAY), NOW, retention=DAY, orphan_grace=60)


def test_references_are_sha256_and_64_lower_case_hex_digits():
    digest = sha256_of(b"hello")
    assert digest_of_reference(reference_of(digest)) == digest
    for bad in (
        "",
        digest,
        "sha256:" + digest.upper(),
        "sha256:" + digest[:-1],
        "md5:" + digest,
        "sha256:" + digest + "0",
        "sha256:../" + digest[3:],
    ):
        assert digest_of_reference(bad) is None, bad


def test_an_email_queued_names_its_content_and_carries_no_body():
    request = EmailRequest(
        "acme",
        "ses",
        to=(Mailbox("bob@example.org"),),
        subject="Hi",
        text_body="Hello",
        html_body="<p>" + "x" * 50_000 + "</p>",
    )
    refs = ContentRefs(
        text=ContentRef("a" * 64, 5, 'text/plain; charset="utf-8"'),
        html=ContentRef("b" * 64, 50_007, 'text/html; charset="utf-8"'),
        parts=(
            QueuedPart("Größe.pdf", "", ContentRef("c" * 64, 2 * 1024 * 1024, "application/pdf")),
            QueuedPart("logo.png", "logo@acme.example", ContentRef("d" * 64, 300, "image/png")),
        ),
    )
    event = events.queued_event(request, "0" * 36, refs)
    assert not event.email_queued.text_body and not event.email_queued.html_body
    assert events.refs_of(event) == refs
    assert refs.digests == {"a" * 64, "b" * 64, "c" * 64, "d" * 64}
    assert event.ByteSize() < 1024


def test_an_email_queued_without_references_carries_its_bodies_as_events_before_the_content_store_did():
    request = EmailRequest("acme", "ses", to=(Mailbox("bob@example.org"),), subject="Hi", text_body="Hello")
    event = events.queued_event(request, "0" * 36)
    assert event.email_queued.text_body == "Hello"
    assert events.refs_of(event) == ContentRefs()
    assert events.request_of(event).text_body == "Hello"
