import pytest

from services.ses_sim.ses_headers import SesHeaders, read_ses_headers, without_ses_headers

MESSAGE = (
    b"From: news@example.com\r\nX-SES-CONFIGURATION-SET: newsletters\r\nx-ses-tenant:  acme\r\n"
    b"Subject: a folded\r\n subject\r\n\r\nX-SES-TENANT: in the body, not a header\r\n"
)


def test_both_headers_are_read_whatever_their_case():
    assert read_ses_headers(MESSAGE) == SesHeaders("newsletters", "acme")
    assert read_ses_headers(b"From: a@b.test\r\n\r\nhi") == SesHeaders(None, None)


def test_they_are_removed_and_nothing_else_changes():
    assert without_ses_headers(MESSAGE) == (
        b"From: news@example.com\r\nSubject: a folded\r\n subject\r\n\r\nX-SES-TENANT: in the body, not a header\r\n"
    )


def test_a_folded_ses_header_goes_with_its_continuation_lines():
    folded = b"X-SES-TENANT: ac\r\n me\r\nTo: j@x.test\r\n\r\nbody"
    assert read_ses_headers(folded).tenant == "ac me"
    assert without_ses_headers(folded) == b"To: j@x.test\r\n\r\nbody"


@pytest.mark.parametrize("data", [b"X-SES-TENANT: acme\nTo: j@x.test\n\nbody\n", b"X-SES-TENANT: acme\r\n"])
def test_bare_newlines_and_a_message_of_headers_only(data):
    assert read_ses_headers(data).tenant == "acme"
    assert b"X-SES-TENANT" not in without_ses_headers(data)


def test_an_empty_header_names_nothing():
    assert read_ses_headers(b"X-SES-CONFIGURATION-SET:\r\n\r\n") == SesHeaders(None, None)
