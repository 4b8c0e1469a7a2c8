"""How settings choose the certificate source and the replay window."""

from datetime import timedelta

import aiohttp
import pytest

from services.core.settings import Settings
from services.feedback.main import certificate_source, max_age, sns_session
from services.feedback.sns_session import SnsSession
from services.feedback.sns_verifier import HttpsCertificateFetcher, PinnedCertificateDirectory
from tests.unit.core.test_sqlalchemy_without_orm import run_fresh


def test_max_age_zero_means_no_limit() -> None:
    assert max_age(Settings(sns_max_age_seconds=0)) is None
    assert max_age(Settings()) == timedelta(hours=1)


def test_a_pinned_directory_replaces_downloads(tmp_path) -> None:
    session = SnsSession(aiohttp.TCPConnector)
    assert isinstance(certificate_source(Settings(sns_cert_dir=str(tmp_path)), session), PinnedCertificateDirectory)
    assert isinstance(certificate_source(Settings(), session), HttpsCertificateFetcher)


def test_the_client_to_sns_is_not_loaded_before_its_first_request() -> None:
    printed = run_fresh(
        """
        import sys
        from services.core.settings import Settings
        from services.feedback.main import certificate_source, sns_session
        from services.feedback.sns_confirmation import SubscriptionConfirmer

        settings = Settings(sns_resolve="sns.us-east-1.amazonaws.com=127.0.0.1:8443")
        session = sns_session(settings)
        certificate_source(settings, session), SubscriptionConfirmer(session)
        print("aiohttp.client" in sys.modules)
        """
    )
    assert printed == "False"


def test_bad_sns_settings_stop_the_service_at_start_not_at_the_first_message(tmp_path) -> None:
    with pytest.raises(SystemExit, match="POSTROOM_SNS_RESOLVE"):
        sns_session(Settings(sns_resolve="sns.us-east-1.amazonaws.com"))
    with pytest.raises(OSError):
        sns_session(Settings(sns_ca_file=str(tmp_path / "missing-ca.pem")))
