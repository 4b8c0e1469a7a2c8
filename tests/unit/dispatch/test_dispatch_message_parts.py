"""Attachments and inline parts in the built message, parsed back with the `email` package."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from email import message_from_bytes, policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.core.errors import FieldViolation, InvalidArgument
from services.dispatch.attachments import AttachmentContent, filename_problem
from services.dispatch.domain import EmailRequest, Mailbox
from services.dispatch.message import Sender, build_message

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
SENDER = Sender("news@example.com", "Acme News")
EVERY_BYTE = bytes(range(256)) * 5 + b"\r\n\n\r=\x00"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(200))
HTML = '<p>Ihre Rechnung</p><img src="cid:logo@example.com" alt="Acme">'


def build(attachments, **overrides):
    values = dict(
        account_id="acme",
        provider_id="p",
        to=(Mailbox("bob@example.org", "Bob"),),
        subject="Ihre Rechnung",
        text_body="Ihre Rechnung liegt bei.",
        html_body=HTML,
    )
    values.update(overrides)
    return build_message(
        EmailRequest(**values), dispatch_id="d-1", sender=SENDER, now=NOW, attachments=tuple(attachments)
    )


def parse(data: bytes):
    return message_from_bytes(data, policy=policy.default)


def structure(message) -> object:
    """The MIME tree as nested (content type, [children]) / content type."""
    if message.is_multipart():
        return (message.get_content_type(), [structure(child) for child in message.iter_parts()])
    return message.get_content_type()


def filename_of(part) -> str:
    # The header registry's decoding: RFC 2231 and its continuations, quoted-pairs.
    return part["Content-Disposition"].params["filename"]


def test_attachments_and_inline_parts_nest_mixed_related_alternative():
    built = build(
        [
            AttachmentContent("Rechnung.pdf", "application/pdf", PDF),
            AttachmentContent("logo.png", "image/png", PNG, content_id="logo@example.com"),
        ]
    )
    message = parse(built.data)
    assert structure(message) == (
        "multipart/mixed",
        [
            ("multipart/related", [("multipart/alternative", ["text/plain", "text/html"]), "image/png"]),
            "application/pdf",
        ],
    )
    related = next(message.iter_parts())
    assert related["Content-Type"].params["type"] == "multipart/alternative"  # RFC 2387: the root's type
    assert message.defects == [] and all(part.defects == [] for part in message.walk())
    assert message.get_body(("html",)).get_content().strip() == HTML


def test_the_inline_image_is_the_one_the_html_refers_to():
    message = parse(build([AttachmentContent("logo.png", "image/png", PNG, content_id="logo@example.com")]).data)
    assert structure(message) == (
        "multipart/related",
        [("multipart/alternative", ["text/plain", "text/html"]), "image/png"],
    )
    html = message.get_body(("html",)).get_content()
    image = next(part for part in message.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == "<logo@example.com>"
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    assert image.get_content_disposition() == "inline"
    assert filename_of(image) == "logo.png"
    assert image.get_content() == PNG


def test_inline_parts_around_a_single_html_or_text_body():
    inline = [AttachmentContent("logo.png", "image/png", PNG, content_id="logo@example.com")]
    html_only = parse(build(inline, text_body="").data)
    assert structure(html_only) == ("multipart/related", ["text/html", "image/png"])
    assert html_only["Content-Type"].params["type"] == "text/html"
    text_only = parse(build(inline, html_body="").data)
    assert text_only["Content-Type"].params["type"] == "text/plain"


def test_attachments_alone_sit_in_mixed_beside_the_body():
    message = parse(
        build(
            [
                AttachmentContent("a.pdf", "application/pdf", PDF),
                AttachmentContent("b.bin", "application/octet-stream", EVERY_BYTE),
            ],
            html_body="",
        ).data
    )
    assert structure(message) == ("multipart/mixed", ["text/plain", "application/pdf", "application/octet-stream"])
    first, second = message.iter_attachments()
    assert (first.get_content_disposition(), filename_of(first), first.get_content()) == ("attachment", "a.pdf", PDF)
    assert (filename_of(second), second.get_content()) == ("b.bin", EVERY_BYTE)


def test_no_attachments_is_the_message_of_old():
    plain = parse(build([], html_body="").data)
    assert structure(plain) == "text/plain"
    assert structure(parse(build([]).data)) == ("multipart/alternative", ["text/plain", "text/html"])


def test_parts_keep_their_order_within_each_kind():
    images = [
        AttachmentContent(f"{n}.png", "image/png", bytes([n]) * 10, content_id=f"{n}@example.com") for n in range(3)
    ]
    files = [AttachmentContent(f"{n}.pdf", "application/pdf", bytes([n]) * 10) for n in range(3)]
    message = parse(build([files[0], images[0], files[1], images[1], files[2], images[2]]).data)
    related, *attached = message.iter_parts()
    assert [filename_of(p) for p in attached] == ["0.pdf", "1.pdf", "2.pdf"]
    assert [filename_of(p) for p in list(related.iter_parts())[1:]] == ["0.png", "1.png", "2.png"]


@pytest.mark.parametrize(
    "filename",
    [
        "Überweisung März.pdf",
        "请求.pdf",
        "Grüße 🎉.txt",
        "Facture n°12 — été.pdf",
        "请求书" * 80 + ".pdf",  # 245 characters, 731 bytes of UTF-8
        "Überweisung " * 20 + ".pdf",  # long, mostly ASCII
        "quarterly-report-" * 14 + ".pdf",  # long plain ASCII
        'the "final" one.pdf',
        "it's 100% (done); really, [v2] {x} @home = ok?.pdf",
        "=?utf-8?q?looks_encoded?=.pdf",
        '"quoted".pdf"',
        "<angled>.pdf",
        "<report>",
    ],
)
def test_file_names_arrive_as_given(filename):
    message = parse(build([AttachmentContent(filename, "application/pdf", PDF)]).data)
    [part] = message.iter_attachments()
    assert filename_of(part) == filename
    assert part["Content-Type"].params["name"] == filename  # the RFC 2047 `name` old clients read
    legacy = [
        p
        for p in message_from_bytes(
            build([AttachmentContent(filename, "application/pdf", PDF)]).data, policy=policy.compat32
        ).walk()
        if p.get_filename()
    ]
    assert legacy[0].get_filename() == filename


def test_ascii_names_are_plain_quoted_and_others_rfc_2231():
    data = build(
        [
            AttachmentContent('the "final" one.pdf', "application/pdf", PDF),
            AttachmentContent("Überweisung März.pdf", "application/pdf", PDF),
            AttachmentContent("请求书" * 40 + ".pdf", "application/pdf", PDF),
        ]
    ).data
    assert b'filename="the \\"final\\" one.pdf"' in data and b'name="the \\"final\\" one.pdf"' in data
    assert b"filename*=utf-8''%C3%9Cberweisung%20M%C3%A4rz.pdf" in data
    assert b'name="=?utf-8?b?w5xiZXJ3ZWlzdW5nIE3DpHJ6LnBkZg==?="' in data
    assert b"filename*0*=utf-8''%E8%AF%B7" in data and b"filename*1*=" in data and b"filename*=utf-8''%E8" not in data


def test_every_line_is_short_and_the_message_is_ascii():
    built = build(
        [
            AttachmentContent("请求书" * 80 + ".pdf", "application/pdf", EVERY_BYTE * 10),
            AttachmentContent("x" * 251 + ".pdf", "application/pdf", PDF),
            AttachmentContent("logo.png", "image/png", PNG, content_id="l" * 60 + "@example.com"),
        ]
    )
    assert built.data.isascii()
    lines = built.data.split(b"\r\n")
    assert b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 998
    header_lines = [line for line in lines if b"filename" in line or b"=?utf-8?b?" in line]
    assert all(len(line) <= 78 for line in header_lines if b"x" * 251 not in line)
    base64_lines = [line for line in lines if len(line) == 76]
    assert len(base64_lines) > 10


def test_base64_lines_are_76_characters_with_crlf():
    content = random.Random(7).randbytes(57 * 100 + 13)
    data = build([AttachmentContent("r.bin", "application/octet-stream", content)]).data
    body = data.split(b'filename="r.bin"\r\n\r\n', 1)[1].split(b"\r\n\r\n--", 1)[0]
    lines = body.split(b"\r\n")
    assert [len(line) for line in lines[:-1]] == [76] * 100 and len(lines[-1]) == 20


def test_a_multi_megabyte_part_arrives_byte_for_byte():
    content = random.Random(12).randbytes(6 * 1024 * 1024 + 1)
    built = build(
        [
            AttachmentContent("video.mp4", "video/mp4", content),
            AttachmentContent("every-byte.bin", "application/octet-stream", EVERY_BYTE),
        ]
    )
    video, every = parse(built.data).iter_attachments()
    assert video.get_content() == content
    assert every.get_content() == EVERY_BYTE


def test_empty_content_is_an_empty_file():
    [part] = parse(build([AttachmentContent("empty.txt", "text/plain", b"")]).data).iter_attachments()
    assert part.get_payload(decode=True) == b""


def test_media_type_parameters_are_kept_beside_the_name():
    invite = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    [part] = parse(
        build([AttachmentContent("invite.ics", "text/calendar; method=REQUEST; charset=UTF-8", invite)]).data
    ).iter_attachments()
    assert part.get_content_type() == "text/calendar"
    assert dict(part["Content-Type"].params) == {"method": "REQUEST", "charset": "UTF-8", "name": "invite.ics"}
    assert part.get_payload(decode=True) == invite


@pytest.mark.parametrize(
    "attachment, field",
    [
        (AttachmentContent("setup.exe", "application/octet-stream", b"MZ"), "attachments[0].filename"),
        (AttachmentContent("a.pdf\r\nBcc: x@example.org", "application/pdf", b""), "attachments[0].filename"),
        (AttachmentContent("a.pdf", "application/pdf\r\nBcc: x@example.org", b""), "attachments[0].media_type"),
        (
            AttachmentContent("a.png", "image/png", b"", content_id="a>\r\nBcc: x@example.org"),
            "attachments[0].content_id",
        ),
    ],
)
def test_the_builder_refuses_what_the_rules_refuse(attachment, field):
    # Whatever path a part took (an event of an older version, a caller that skipped validation),
    # it never reaches SES as an injected header or a type SES refuses.
    with pytest.raises(InvalidArgument) as refused:
        build([attachment])
    assert [v.field for v in refused.value.violations] == [field]


def test_the_builder_refuses_duplicate_content_ids():
    twice = [AttachmentContent(f"{n}.png", "image/png", b"", content_id="logo@example.com") for n in range(2)]
    with pytest.raises(InvalidArgument) as refused:
        build(twice)
    assert refused.value.violations == [
        FieldViolation(
            "attachments[1].content_id",
            "duplicates attachments[0].content_id: each inline part needs its own Content-ID",
        )
    ]


valid_filenames = st.one_of(
    st.text(min_size=1, max_size=255),
    st.text(st.characters(max_codepoint=127), min_size=1, max_size=255),
).filter(lambda name: filename_problem(name) is None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(filename=valid_filenames)
def test_any_valid_file_name_survives_both_parsers(filename):
    data = build([AttachmentContent(filename, "application/octet-stream", b"x")]).data
    assert data.isascii() and max(len(line) for line in data.split(b"\r\n")) <= 998
    [part] = parse(data).iter_attachments()
    assert filename_of(part) == filename
    assert part["Content-Type"].params["name"] == filename
    legacy = [p for p in message_from_bytes(data, policy=policy.compat32).walk() if p.get_filename() is not None]
    assert legacy[0].get_filename() == filename


@settings(max_examples=100, deadline=None)
@given(contents=st.lists(st.binary(max_size=5000), min_size=1, max_size=4), inline=st.booleans())
def test_any_contents_arrive_byte_for_byte(contents, inline):
    attachments = [
        AttachmentContent(
            f"part{n}.bin", "application/octet-stream", content, content_id=f"part{n}@example.com" if inline else ""
        )
        for n, content in enumerate(contents)
    ]
    parts = [part for part in parse(build(attachments).data).walk() if part.get_filename()]
    assert [part.get_payload(decode=True) for part in parts] == contents
