"""How settings choose the certificate source and the replay window."""

from datetime import timedelta

import aiohttp

from services.core.settings import Settings
from services.feedback.main import certificate_source, max_age
from services.feedback.sns_verifier import HttpsCertificateFetcher, PinnedCertificateDirectory


def test_max_age_zero_means_no_limit() -> None:
    assert max_age(Settings(sns_max_age_seconds=0)) is None
    assert max_age(Settings()) == timedelta(hours=1)


async def test_a_pinned_directory_replaces_downloads(tmp_path) -> None:
    async with aiohttp.ClientSession() as session:
        assert isinstance(certificate_source(Settings(sns_cert_dir=str(tmp_path)), session), PinnedCertificateDirectory)
        assert isinstance(certificate_source(Settings(), session), HttpsCertificateFetcher)
