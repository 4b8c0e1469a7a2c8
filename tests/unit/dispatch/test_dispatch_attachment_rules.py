"""Attachment rules: file names, media types, Content-IDs, the part count, SES's refused extensions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.errors import FieldViolation
from services.dispatch.attachments import (
    MAX_ATTACHMENTS,
    MAX_CONTENT_ID_CHARS,
    MAX_FILENAME_CHARS,
    MAX_MEDIA_TYPE_CHARS,
    SES_UNSUPPORTED_EXTENSIONS,
    AttachmentContent,
    AttachmentMetadata,
    attachment_violations,
)


def part(filename="invoice.pdf", media_type="application/pdf", size=1000, content_id=""):
    return AttachmentMetadata(filename, media_type, size, content_id)


def violations_of(**fields):
    return attachment_violations([part(**fields)])


def test_good_parts_have_no_violations():
    assert (
        attachment_violations(
            [
                part(),
                part("Überweisung März.pdf"),
                part("请求.pdf"),
                part("logo.png", "image/png", content_id="logo@example.com"),
                part("invite.ics", "text/calendar; method=REQUEST; charset=UTF-8"),
                part("notes.txt", 'text/plain; charset="utf-8"'),
                part("README", "application/octet-stream", size=0),
                part("report.exe.pdf"),
                part("a" * (MAX_FILENAME_CHARS - 4) + ".pdf"),
                part(
                    "Quarterly report (final), v2 – 100%.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            ]
        )
        == []
    )


@pytest.mark.parametrize(
    "filename, description",
    [
        ("", "is required (the name the recipient sees, with its extension)"),
        ("a" * (MAX_FILENAME_CHARS + 1), f"must be at most {MAX_FILENAME_CHARS} characters"),
        ("invoice\r\n.pdf", "must not contain line breaks or control characters (CR, LF, NUL, ...)"),
        ("invoice\n.pdf", "must not contain line breaks or control characters (CR, LF, NUL, ...)"),
        ("invoice\x00.pdf", "must not contain line breaks or control characters (CR, LF, NUL, ...)"),
        ("invoice\x85.pdf", "must not contain line breaks or control characters (CR, LF, NUL, ...)"),
        ("invoice\u2028.pdf", "must not contain line breaks or control characters (CR, LF, NUL, ...)"),
        ("invoice\ud800.pdf", "must be valid Unicode (it holds an unpaired surrogate)"),
        ("invoice\u202efdp.exe", "must not contain bidirectional control characters: they can disguise the extension"),
        ("../etc/passwd.txt", "must be a bare file name, without / or \\"),
        ("C:\\Users\\me\\invoice.pdf", "must be a bare file name, without / or \\"),
        (" invoice.pdf", "must not start with a space: mail clients drop it"),
        ("invoice.exe.", "must not end with a dot or a space: Windows drops them, which changes the extension"),
        ("invoice.exe ", "must not end with a dot or a space: Windows drops them, which changes the extension"),
        ("..", "must not end with a dot or a space: Windows drops them, which changes the extension"),
    ],
)
def test_each_bad_file_name_is_refused_with_its_reason(filename, description):
    assert violations_of(filename=filename) == [FieldViolation("attachments[0].filename", description)]


@pytest.mark.parametrize(
    "filename, extension",
    [
        ("setup.exe", "exe"),
        ("SETUP.EXE", "exe"),
        ("Setup.Exe", "exe"),
        ("script.ps1", "ps1"),
        ("archive.pdf.vbs", "vbs"),
        ("widget.gadget", "gadget"),
        (".js", "js"),
        ("Rechnung März.SCR", "scr"),
    ],
)
def test_ses_unsupported_types_are_refused_naming_the_rule(filename, extension):
    assert violations_of(filename=filename) == [
        FieldViolation(
            "attachments[0].filename",
            f"SES does not accept .{extension} attachments (Amazon SES unsupported attachment types)",
        )
    ]


@pytest.mark.parametrize("extension", sorted(SES_UNSUPPORTED_EXTENSIONS))
def test_every_extension_on_the_ses_list_is_refused_in_any_case(extension):
    for name in (f"file.{extension}", f"FILE.{extension.upper()}", f"file.{extension.capitalize()}"):
        assert "Amazon SES unsupported attachment types" in violations_of(filename=name)[0].description


def test_the_ses_list_is_the_developer_guides_whole_list():
    # 90 extensions in "Amazon SES unsupported attachment types"; only the final extension counts.
    assert len(SES_UNSUPPORTED_EXTENSIONS) == 90
    assert {"ade", "der", "gadget", "msh1xml", "ps2xml", "tmp", "url", "vsmacros", "xnk"} <= SES_UNSUPPORTED_EXTENSIONS
    assert all(ext == ext.lower() and not ext.startswith(".") for ext in SES_UNSUPPORTED_EXTENSIONS)
    assert violations_of(filename="exe") == [] and violations_of(filename="setup.exe.txt") == []
    assert violations_of(filename="archive.zip") == []  # SES takes archives; some ISPs may not


@pytest.mark.parametrize(
    "media_type",
    [
        "",
        "pdf",
        "application/",
        "/pdf",
        "application/pdf/x",
        "application /pdf",
        "appli cation/pdf",
        "application/pdf;",
        "application/pdf; charset",
        "application/pdf; a=b c",
        'text/plain; charset="ü"',
        "application/pdf\r\nBcc: x@example.org",
        "application/pdf; a=b\r\n c=d",
        'application/pdf; a="x\\"y"',
        "application/pdf; a=b;\tc=d",
        "ap\u00fclication/pdf",
        ".application/pdf",
        "application/" + "a" * 128,
    ],
)
def test_a_malformed_media_type_is_refused(media_type):
    [violation] = violations_of(media_type=media_type)
    assert violation.field == "attachments[0].media_type"
    assert "type/subtype" in violation.description or "is required" in violation.description


def test_media_type_limits_and_reserved_parameters():
    too_long = "application/pdf; x=" + "a" * MAX_MEDIA_TYPE_CHARS
    assert violations_of(media_type=too_long) == [
        FieldViolation("attachments[0].media_type", f"must be at most {MAX_MEDIA_TYPE_CHARS} characters")
    ]
    for composite in ("multipart/mixed", "message/rfc822", "Multipart/Related; boundary=x"):
        [violation] = violations_of(media_type=composite)
        assert "RFC 2045 forbids base64" in violation.description
        assert "application/octet-stream" in violation.description
    for reserved in ("application/pdf; name=x.pdf", 'application/pdf; NAME="x.pdf"', "application/pdf; name*=utf-8''x"):
        assert violations_of(media_type=reserved) == [
            FieldViolation(
                "attachments[0].media_type", "must not carry a name parameter: Postroom writes it from the filename"
            )
        ]
    assert violations_of(media_type="application/pdf; filename=x; names=y") == []


@pytest.mark.parametrize(
    "content_id",
    [
        "logo",
        "<logo@example.com>",
        "logo@",
        "@example.com",
        "lo go@example.com",
        "logo@example..com",
        ".logo@example.com",
        "logo@@example.com",
        "logo@example.com\r\nBcc: x",
        "lögo@example.com",
        "logo%41@example.com",
        "logo#1@example.com",
        "logo?@example.com",
        "a/b@example.com",
        "logo@[127.0.0.1]",
        "x" * (MAX_CONTENT_ID_CHARS - 11) + "@example.com",
    ],
)
def test_a_malformed_content_id_is_refused(content_id):
    [violation] = violations_of(content_id=content_id)
    assert violation.field == "attachments[0].content_id"


def test_a_content_id_is_an_addr_spec_like_message_id():
    for good in ("logo@example.com", "img.1@mail.example.org", "part-2_a+b=c~d!$*@x", "x" * 66 + "@example.com"):
        assert violations_of(content_id=good) == [], good
    assert (
        violations_of(content_id="x" * 67 + "@example.com")[0].description
        == f"must be at most {MAX_CONTENT_ID_CHARS} characters"
    )


def test_duplicate_content_ids_are_refused_even_in_another_case():
    parts = [
        part("a.png", "image/png", content_id="logo@example.com"),
        part("b.png", "image/png", content_id="other@example.com"),
        part("c.png", "image/png", content_id="LOGO@example.com"),
        part("d.pdf"),
        part("e.pdf"),
    ]  # parts without a Content-ID never clash
    assert attachment_violations(parts) == [
        FieldViolation(
            "attachments[2].content_id",
            "duplicates attachments[0].content_id: each inline part needs its own Content-ID",
        )
    ]


def test_too_many_parts_is_one_violation_on_the_list():
    assert attachment_violations([part()] * MAX_ATTACHMENTS) == []
    assert attachment_violations([part()] * (MAX_ATTACHMENTS + 1)) == [
        FieldViolation(
            "attachments",
            f"at most {MAX_ATTACHMENTS} attachments and inline parts per message; send more files as one archive",
        )
    ]


def test_every_problem_is_reported_at_once_each_naming_its_part_and_field():
    violations = attachment_violations([part(), part("setup.exe", "pdf", -1, "logo"), part("ok.pdf", content_id="a@b")])
    assert [v.field for v in violations] == [
        "attachments[1].filename",
        "attachments[1].media_type",
        "attachments[1].size",
        "attachments[1].content_id",
    ]


def test_content_knows_its_metadata_and_keeps_bytes_out_of_its_repr():
    content = AttachmentContent("logo.png", "image/png", b"\x89PNG-secret", content_id="logo@example.com")
    assert content.metadata == AttachmentMetadata("logo.png", "image/png", 11, "logo@example.com")
    assert content.inline and content.metadata.inline and not part().inline
    assert "secret" not in repr(content)


@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300))
def test_any_text_as_a_file_name_gets_an_answer_never_a_crash(filename):
    violations = violations_of(filename=filename)
    assert all(v.field == "attachments[0].filename" for v in violations)
    if not violations:
        assert not any(ch in filename for ch in "\r\n\x00/\\") and len(filename) <= MAX_FILENAME_CHARS
