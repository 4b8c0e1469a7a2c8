from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.feedback.sns_verifier import PinnedCertificateDirectory, SnsSignatureVerifier
from tests.support.sns_signing import SnsSigningAuthority, SnsSigningIdentity


@pytest.fixture(scope="session")
def sns_authority() -> SnsSigningAuthority:
    return SnsSigningAuthority.create()


@pytest.fixture(scope="session")
def signing_identity(sns_authority: SnsSigningAuthority) -> SnsSigningIdentity:
    return SnsSigningIdentity.issued_by(sns_authority)


@pytest.fixture
def pinned_dir(tmp_path: Path, signing_identity: SnsSigningIdentity) -> Path:
    signing_identity.pin_in(tmp_path)
    return tmp_path


@pytest.fixture
def verifier(pinned_dir: Path) -> SnsSignatureVerifier:
    return SnsSignatureVerifier(PinnedCertificateDirectory(pinned_dir))


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)
