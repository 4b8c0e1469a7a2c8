"""message_size_bound: the built message's size from metadata alone, never under, a few bytes over."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.core.errors import InvalidArgument
from services.core.ids import name_based_id, uuid7
from services.dispatch.attachments import AttachmentContent, AttachmentMetadata, filename_problem
from services.dispatch.base64_lines import Base64Lines, base64_lines
from services.dispatch.domain import EmailRequest, Mailbox
from services.dispatch.message import BuiltMessage, Sender, build_message, message_size_bound

# Only the Message-ID's digits vary between two builds of one request.
SLACK = 64
UNSUBSCRIBE = {
    "List-Unsubscribe": f"<https://u.example.com/u/{'Tok3n_-' * 30}>, <mailto:u@example.com?subject=unsub>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}

line_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)
bodies = st.one_of(
    st.just(""),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=3000),  # anything: QP
    st.text(st.characters(max_codepoint=127, blacklist_categories=("Cs",)), max_size=3000),  # mostly 7bit
    st.builds(lambda line, n: (line + "\n") * n, line_text, st.integers(0, 200)),  # many lines
    st.builds(lambda ch, n: ch * n, st.sampled_from(["a", "é", " ", "=", "\t", "请", "🎉"]), st.integers(0, 3000)),
)
mailboxes = st.builds(
    Mailbox,
    st.from_regex(r"[a-z0-9.+]{1,30}@[a-z]{1,20}\.example", fullmatch=True),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
)
filenames = st.one_of(
    st.text(min_size=1, max_size=255), st.text(st.characters(max_codepoint=127), min_size=1, max_size=60)
).filter(lambda name: filename_problem(name) is None)
media_types = st.sampled_from(
    [
        "application/pdf",
        "image/png",
        "text/calendar; method=REQUEST; charset=UTF-8",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ]
)


@st.composite
def parts(draw):
    count = draw(st.integers(0, 5))
    return [
        AttachmentContent(
            draw(filenames),
            draw(media_types),
            draw(st.binary(max_size=3000)),
            content_id=f"part{n}@example.com" if draw(st.booleans()) else "",
        )
        for n in range(count)
    ]


@st.composite
def requests(draw):
    text_body, html_body = draw(bodies), draw(bodies)
    return EmailRequest(
        "acme",
        "p",
        to=tuple(draw(st.lists(mailboxes, min_size=1, max_size=6, unique_by=lambda m: m.address))),
        cc=tuple(draw(st.lists(mailboxes, max_size=3, unique_by=lambda m: m.address))),
        subject=draw(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200)),
        text_body=text_body if text_body or html_body else "x",
        html_body=html_body,
        headers=tuple(draw(st.lists(st.tuples(st.sampled_from(["X-Campaign", "X-Ref"]), line_text), max_size=2))),
        reply_to=draw(st.none() | mailboxes),
        tags=tuple(
            draw(
                st.lists(
                    st.tuples(
                        st.from_regex(r"[a-z]{1,20}", fullmatch=True),
                        st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True),
                    ),
                    max_size=5,
                )
            )
        ),
    )


def built_size(request, attachments, *, sender, unsubscribe_headers=None, dispatch_id=None, recipients=None):
    return len(
        build_message(
            request,
            dispatch_id=dispatch_id or str(uuid7()),
            sender=sender,
            now=datetime.now(timezone.utc),
            unsubscribe_headers=unsubscribe_headers,
            recipients=recipients,
            attachments=attachments,
        ).data
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    request=requests(), attachments=parts(), sender_name=line_text, unsubscribe=st.booleans(), idempotent=st.booleans()
)
def test_the_bound_is_never_under_and_at_most_a_few_bytes_over(
    request, attachments, sender_name, unsubscribe, idempotent
):
    sender = Sender("news@mail.example.com", sender_name)
    unsubscribe_headers = UNSUBSCRIBE if unsubscribe else None
    dispatch_id = name_based_id("acme", "key") if idempotent else str(uuid7())
    bound = message_size_bound(
        request, sender=sender, attachments=[a.metadata for a in attachments], unsubscribe_headers=unsubscribe_headers
    )
    size = built_size(
        request, attachments, sender=sender, unsubscribe_headers=unsubscribe_headers, dispatch_id=dispatch_id
    )
    assert 0 <= bound - size <= SLACK


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests(), attachments=parts(), data=st.data())
def test_dropping_suppressed_recipients_never_lengthens_the_message(request, attachments, data):
    kept = tuple(data.draw(st.lists(st.sampled_from(request.recipients), min_size=1, unique=True)))
    bound = message_size_bound(request, sender=Sender("a@example.com"), attachments=[a.metadata for a in attachments])
    assert built_size(request, attachments, sender=Sender("a@example.com"), recipients=kept) <= bound


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(request=requests(), attachments=parts())
def test_each_piece_is_in_crlf_form_and_ends_a_line(request, attachments):
    """What lets SMTP bring each piece to DATA's form on its own (services/dispatch/smtp.py)."""
    message = build_message(
        request,
        dispatch_id=str(uuid7()),
        sender=Sender("a@example.com"),
        now=datetime.now(timezone.utc),
        attachments=attachments,
    )
    for piece in message.pieces:
        data = piece if isinstance(piece, bytes) else piece.data
        assert data.count(b"\r") == data.count(b"\n") == data.count(b"\r\n")
        assert data == b"" or data.endswith(b"\r\n")


def carrying_a_pdf(encoded: Base64Lines) -> BuiltMessage:
    return build_message(
        EmailRequest("acme", "p", to=(Mailbox("b@example.org"),), subject="s", text_body="t"),
        dispatch_id=str(uuid7()),
        sender=Sender("a@example.com"),
        now=datetime.now(timezone.utc),
        attachments=[AttachmentContent("a.pdf", "application/pdf", b"%PDF-1.7 ...", encoded=encoded)],
    )


def test_a_part_encoded_already_is_carried_as_it_is():
    encoded = base64_lines(b"%PDF-1.7 ...")
    assert any(piece is encoded for piece in carrying_a_pdf(encoded).pieces)


def test_emails_of_one_body_share_its_part():
    request = EmailRequest("acme", "p", to=(Mailbox("b@example.org"),), subject="s", html_body="<p>Hi</p>" * 5000)
    built = [
        build_message(request, dispatch_id=str(uuid7()), sender=Sender("a@example.com"), now=datetime.now(timezone.utc))
        for _ in range(2)
    ]
    largest = [max(message.pieces, key=len) for message in built]
    assert largest[0] is largest[1] and len(largest[0]) > 45_000


def test_lines_that_are_not_the_contents_length_are_not_used():
    stale = base64_lines(b"an older version of the file")
    pieces = carrying_a_pdf(stale).pieces
    assert stale not in pieces and base64_lines(b"%PDF-1.7 ...").data in [getattr(p, "data", p) for p in pieces]


@pytest.mark.parametrize("size", [0, 1, 2, 3, 56, 57, 58, 1024 * 1024 - 1, 30 * 1024 * 1024 + 7])
def test_large_parts_are_counted_exactly(size):
    request = EmailRequest("acme", "p", to=(Mailbox("b@example.org"),), subject="s", text_body="t")
    content = random.Random(size).randbytes(size)
    attachments = [AttachmentContent("big.bin", "application/octet-stream", content)]
    bound = message_size_bound(
        request,
        sender=Sender("a@example.com"),
        attachments=[AttachmentMetadata("big.bin", "application/octet-stream", size)],
    )
    assert 0 <= bound - built_size(request, attachments, sender=Sender("a@example.com")) <= SLACK


def test_the_bound_needs_no_content_and_sees_a_message_over_the_limit():
    request = EmailRequest("acme", "p", to=(Mailbox("b@example.org"),), subject="s", html_body="<p>x</p>")
    forty_mb = 40 * 1024 * 1024
    # 30 MiB of content takes 41 MiB in base64 lines: over SES's 40 MiB.
    bound = message_size_bound(
        request,
        sender=Sender("a@example.com"),
        attachments=[AttachmentMetadata("video.mp4", "video/mp4", 30 * 1024 * 1024)],
    )
    assert bound > forty_mb
    assert (
        message_size_bound(
            request,
            sender=Sender("a@example.com"),
            attachments=[AttachmentMetadata("video.mp4", "video/mp4", 29 * 1024 * 1024)],
        )
        < forty_mb
    )


def test_the_bound_refuses_parts_the_builder_would_refuse():
    request = EmailRequest("acme", "p", to=(Mailbox("b@example.org"),), subject="s", text_body="t")
    with pytest.raises(InvalidArgument) as refused:
        message_size_bound(
            request,
            sender=Sender("a@example.com"),
            attachments=[AttachmentMetadata("setup.exe", "application/octet-stream", 10)],
        )
    assert refused.value.violations[0].field == "attachments[0].filename"
