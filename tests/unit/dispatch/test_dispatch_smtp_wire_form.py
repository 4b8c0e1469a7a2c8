"""A message in DATA's form (services/dispatch/smtp.py): what aiosmtplib's `data` would send,
without its copies when the message is already in that form."""

from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given
from hypothesis import strategies as st

from services.dispatch.smtp import _wire_form

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
