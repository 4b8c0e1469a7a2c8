"""A message in DATA's form (services/dispatch/smtp.py): what aiosmtplib's `data` would send,
without its copies when the message is already in that form, and in bounded writes."""

import asyncio

from aiosmtplib.protocol import PERIOD_REGEX, SMTPProtocol, normalize_message_line_endings
from hypothesis import given
from hypothesis import strategies as st

from services.dispatch.base64_lines import base64_lines
from services.dispatch.message import BuiltMessage
from services.dispatch.smtp import _data_writes, _wire_form

CRLF = b"\r\n"


def test_a_message_in_crlf_form_without_leading_periods_goes_as_it_is():
    message = b"Subject: Hi\r\n\r\nHello\r\n"
    assert _wire_form(message) is message


def test_lone_line_ends_become_crlf_and_leading_periods_are_doubled():
    assert _wire_form(b"a\nb\r.c\r\n.d\r\n") == b"a\r\nb\r\n..c\r\n..d\r\n"
    assert _wire_form(b".starts\r\n") == b"..starts\r\n"


@given(st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"..", b" "]), max_size=40).map(b"".join))
def test_the_same_bytes_as_aiosmtplib_sends(message):
    ours = _wire_form(message)
    ours += b"" if ours.endswith(CRLF) else CRLF  # the end line then carries the rest
    assert ours == PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message))


lines = st.lists(st.sampled_from([b"a", b".", b" ", b"..", b"\n", b"\r"]), max_size=12).map(
    lambda s: b"".join(s) + CRLF
)
pieces = st.lists(
    st.one_of(
        st.lists(lines, max_size=6).map(b"".join),
        st.binary(max_size=300).map(base64_lines),
    ),
    max_size=8,
)


unended = st.lists(st.sampled_from([b"a", b".", b" ", b"\r\n", b"\n"]), max_size=8).map(b"".join)


@given(pieces, unended, st.integers(1, 200))
def test_the_writes_of_a_message_in_pieces_carry_what_aiosmtplib_sends_for_it_whole(message_pieces, last, slice_bytes):
    """`last`, the message's end, may end a line or not (the final period's line then starts one)."""
    message = BuiltMessage("a@example.com", ("b@example.org",), (*message_pieces, last))
    writes = list(_data_writes(message, slice_bytes))
    whole = message.data
    expected = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(whole)) if whole else b""
    assert b"".join(writes) == expected + b".\r\n"
    assert all(len(write) <= slice_bytes for write in writes[:-1])
    assert len(writes[-1]) <= slice_bytes + len(b"\r\n.\r\n")


def test_a_plain_email_is_one_write():
    message = BuiltMessage("a@example.com", ("b@example.org",), (b"Subject: Hi\r\n", b"\r\n", b"Hello\r\n"))
    assert list(_data_writes(message)) == [b"Subject: Hi\r\n\r\nHello\r\n.\r\n"]


async def test_the_aiosmtplib_internals_dispatch_writes_data_on_are_there():
    """services/dispatch/smtp.py `_write_content` leans on these (aiosmtplib is pinned): an upgrade
    that moves them fails here, not in a send."""
    protocol = SMTPProtocol()
    assert protocol._response_pending is False and protocol._response_waiter is None
    assert asyncio.iscoroutinefunction(protocol._drain_helper)
