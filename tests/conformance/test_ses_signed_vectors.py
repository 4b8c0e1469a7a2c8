"""Every SES feedback shape, delivered as SNS would (signed v1 and v2), survives parse -> verify -> read."""

from pathlib import Path

import pytest

from services.feedback.ses_feedback import parse_ses_feedback
from services.feedback.sns_message import parse_sns_message
from services.feedback.sns_verifier import PinnedCertificateDirectory, SnsSignatureVerifier
from tests.support.sns_signing import SnsSigningIdentity, http_body, http_headers, notification


@pytest.fixture(scope="module")
def signing_identity(sns_authority) -> SnsSigningIdentity:
    return SnsSigningIdentity.issued_by(sns_authority)


@pytest.mark.parametrize("version", ["1", "2"])
async def test_signed_ses_example_verifies_and_reads_as_the_bare_example(
    ses_example: Path, signing_identity: SnsSigningIdentity, tmp_path: Path, version: str
) -> None:
    signing_identity.pin_in(tmp_path)
    signed = signing_identity.sign(notification(ses_example.read_text()), version)

    message = parse_sns_message(http_body(signed), http_headers(signed))
    await SnsSignatureVerifier(PinnedCertificateDirectory(tmp_path)).verify(message)

    assert parse_ses_feedback(message.message) == parse_ses_feedback(ses_example.read_text())
