"""`postroom ses-sim` as a process: it prints its settings, serves, lists its inbox, and keeps its CA."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from services.ses_sim.main import SesSimulator
from tests.integration.ses_sim.conftest import email, send, simulator_settings

REPO = Path(__file__).resolve().parents[3]


def postroom(*args: str, env: dict, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "services.cli.main", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)


@pytest.fixture
def sim_process(tmp_path):
    env = dict(os.environ, POSTROOM_DATA_DIR=str(tmp_path), POSTROOM_SIM_SMTP_PORT="0", POSTROOM_SIM_SMTP_TLS_PORT="0",
               POSTROOM_SIM_WEB_PORT="0", POSTROOM_SIM_SNS_HTTPS_PORT="0", POSTROOM_SIM_SMTP_PASSWORD="pw-from-env")
    process = postroom("ses-sim", env=env)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Mailbox simulator:"):
            break
    yield process, "".join(lines), env
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


def test_it_prints_every_setting_and_lists_its_inbox(sim_process, tmp_path):
    process, banner, env = sim_process
    assert "POSTROOM_SIM_SMTP_PASSWORD" in banner and "pw-from-env" in banner
    assert "POSTROOM_SIM_SANDBOX" in banner and str(tmp_path / "ses-sim-ca.pem") in banner
    web = re.search(r"http://127\.0\.0\.1:(\d+)/ \(inbox", banner).group(1)
    listing = subprocess.run([sys.executable, "-m", "services.cli.main", "ses-sim", "--url",
                              f"http://127.0.0.1:{web}", "inbox"], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=20)
    assert listing.returncode == 0 and listing.stdout.startswith("0 message(s)")


async def test_a_restart_keeps_the_ca_and_the_signing_certificate(tmp_path):
    settings = simulator_settings(tmp_path)
    async with SesSimulator(settings) as first:
        ca, url = first.ca_file.read_bytes(), first.signing_cert_url
        assert (await send(first, email()))[0] == 250
    async with SesSimulator(settings) as second:
        assert second.ca_file.read_bytes() == ca and second.signing_cert_url == url
        assert (settings.pinned_cert_dir / url.rsplit("/", 1)[1]).exists()
        assert (await send(second, email()))[0] == 250
