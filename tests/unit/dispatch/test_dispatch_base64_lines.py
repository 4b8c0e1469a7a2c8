"""A part's content as base64 lines (services/dispatch/base64_lines.py): what the email package
writes for a base64 body, of the size counted beforehand, and safe on the SMTP wire as it is
(which the type checks when made)."""

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.dispatch.base64_lines import Base64Lines, base64_lines, base64_lines_size

CRLF_LINES = re.compile(rb"(?:[A-Za-z0-9+/=]{1,76}\r\n)*")


@given(st.binary(max_size=4000))
def test_lines_of_76_characters_ending_in_crlf_that_decode_to_the_content(content):
    lines = base64_lines(content).data
    assert CRLF_LINES.fullmatch(lines)
    assert b"." not in lines  # nothing for DATA's dot-stuffing to do
    assert base64.b64decode(lines) == content


@given(st.integers(0, 10_000))
def test_the_size_is_known_from_the_content_size_alone(size):
    assert base64_lines_size(size) == len(base64_lines(bytes(size)).data)


@pytest.mark.parametrize("data", [b"QUJD\r\n.\r\n", b"QUJD\nQUJD\r\n", b"QUJD\rQUJD\r\n"])
def test_bytes_that_smtp_could_not_carry_as_they_are_are_refused(data):
    with pytest.raises(ValueError, match="not base64 lines"):
        Base64Lines(data)


@pytest.mark.parametrize("size", [57 * 1024 - 1, 57 * 1024, 57 * 1024 + 1, 3 * 57 * 1024 + 58])
def test_content_encoded_in_blocks_reads_as_encoded_at_once(size):
    content = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert base64_lines(content).data == base64.encodebytes(content).replace(b"\n", b"\r\n")
