"""The shared conformance files live in `shared/` beside the repository (on CI as well)."""

from pathlib import Path

import pytest

SHARED_DIR = Path(__file__).resolve().parents[2].parent / "shared"
SNS_VECTORS_DIR = SHARED_DIR / "conformance" / "sns"
SES_EXAMPLES_DIR = SHARED_DIR / "conformance" / "ses"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give `sns_vector` / `ses_example` one case per file, named after the file."""
    for argument, directory in (("sns_vector", SNS_VECTORS_DIR), ("ses_example", SES_EXAMPLES_DIR)):
        if argument in metafunc.fixturenames:
            paths = sorted(directory.glob("*.json"))
            assert paths, f"no conformance files in {directory}"
            metafunc.parametrize(argument, paths, ids=[path.stem for path in paths])


@pytest.fixture(scope="session")
def sns_vectors_dir() -> Path:
    return SNS_VECTORS_DIR


@pytest.fixture(scope="session")
def pinned_sns_cert_dir() -> Path:
    return SNS_VECTORS_DIR / "certs"


@pytest.fixture(scope="session")
def ses_examples_dir() -> Path:
    return SES_EXAMPLES_DIR


@pytest.fixture(scope="session")
def sns_authority():
    from tests.support.sns_signing import SnsSigningAuthority

    return SnsSigningAuthority.create()
