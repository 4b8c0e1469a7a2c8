"""`postroom ses-sim` as a process: it prints its settings, serves, lists its inbox, and keeps its CA."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from services.ses_sim.main import SesSimulator
from tests.integration.ses_sim.conftest import PDF, email, send, simulator_settings, with_attachments

REPO = Path(__file__).resolve().parents[3]


def postroom(*args: str, env: dict, **options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


@pytest.fixture
def sim_process(tmp_path):
    env = dict(
        os.environ,
        POSTROOM_DATA_DIR=str(tmp_path),
        POSTROOM_SIM_SMTP_PORT="0",
        POSTROOM_SIM_SMTP_TLS_PORT="0",
        POSTROOM_SIM_WEB_PORT="0",
        POSTROOM_SIM_SNS_HTTPS_PORT="0",
        POSTROOM_SIM_SMTP_PASSWORD="pw-from-env",
    )
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
    listing = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "ses-sim", "--url", f"http://127.0.0.1:{web}", "inbox"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
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


async def cli(sim: SesSimulator, *args: str) -> tuple[int, str, str]:
    """`postroom ses-sim --url <sim> ...` as a process, while the simulator runs in this loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        "ses-sim",
        "--url",
        sim.web_url,
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 20)
    return process.returncode, out.decode(), err.decode()


async def test_account_changes_the_running_account(tmp_path):
    async with SesSimulator(simulator_settings(tmp_path, extra_regions=("eu-west-1",))) as sim:
        code, out, _ = await cli(
            sim,
            "account",
            "--enforcement",
            "SHUTDOWN",
            "--sending-enabled",
            "false",
            "--max-send-rate",
            "50",
            "--max-24-hour-send",
            "1000",
            "--region",
            "eu-west-1",
        )
        assert code == 0 and json.loads(out)["enforcement_status"] == "SHUTDOWN"
        eu = sim.region("eu-west-1").account
        assert (eu.enforcement_status, eu.sending_enabled, eu.max_send_rate, eu.daily_quota) == (
            "SHUTDOWN",
            False,
            50.0,
            1000,
        )
        assert sim.account.enforcement_status == "HEALTHY"
        code, out, _ = await cli(sim, "account")
        assert code == 0 and json.loads(out)["region"] == "us-east-1"
        code, _, err = await cli(sim, "account", "--region", "ap-south-1")
        assert code != 0 and "does not serve region ap-south-1" in err


async def test_suppression_configuration_set_and_tenant_commands(simulator):
    assert (await cli(simulator, "suppression", "add", "gone@customer.test", "--reason", "COMPLAINT"))[0] == 0
    assert simulator.region().suppression_list.get("gone@customer.test").reason == "COMPLAINT"
    code, out, _ = await cli(simulator, "suppression", "list")
    assert [e["email_address"] for e in json.loads(out)["suppressed"]] == ["gone@customer.test"]
    assert (await cli(simulator, "suppression", "delete", "gone@customer.test"))[0] == 0
    assert len(simulator.region().suppression_list) == 0

    assert (await cli(simulator, "configuration-set", "add", "newsletters"))[0] == 0
    assert (await cli(simulator, "tenant", "add", "acme"))[0] == 0
    code, out, _ = await cli(simulator, "tenant", "status", "acme", "--sending-status", "DISABLED", "--cause", "abuse")
    assert code == 0 and json.loads(out)["sending_status"] == "DISABLED"
    assert simulator.region().tenants.get("acme").ses_status.cause == "abuse"
    code, _, err = await cli(simulator, "tenant", "status", "acme")
    assert code != 0 and "--sending-status" in err


async def test_inbox_lists_attachments_and_attachment_downloads_one(simulator, tmp_path):
    simulator.add_configuration_set("billing")
    message = with_attachments()
    message["X-SES-CONFIGURATION-SET"] = "billing"
    _, reply = await send(simulator, message)
    code, out, _ = await cli(simulator, "inbox")
    assert code == 0 and "sent with: region us-east-1, configuration set billing" in out
    assert "[1] Rechnung März.pdf (application/pdf" in out and "cid:logo@example.com" in out
    target = tmp_path / "invoice.pdf"
    code, out, _ = await cli(simulator, "attachment", reply.removeprefix("Ok "), "1", "-o", str(target))
    assert code == 0 and target.read_bytes() == PDF


def test_regions_and_seeds_come_from_the_environment(tmp_path):
    env = dict(
        os.environ,
        POSTROOM_DATA_DIR=str(tmp_path),
        POSTROOM_SIM_SMTP_PORT="0",
        POSTROOM_SIM_SMTP_TLS_PORT="0",
        POSTROOM_SIM_WEB_PORT="0",
        POSTROOM_SIM_SNS_HTTPS_PORT="0",
        POSTROOM_SIM_REGIONS="us-east-1,eu-west-1",
        POSTROOM_SIM_SUPPRESSED="seeded@customer.test:BOUNCE",
        POSTROOM_SIM_TENANTS_EU_WEST_1="eu-tenant",
    )
    process = postroom("ses-sim", env=env)
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Mailbox simulator:"):
                break
        banner = "".join(lines)
        assert "POSTROOM_SIM_SMTP_PORT_EU_WEST_1" in banner
        assert "arn:aws:sns:eu-west-1:123456789012:ses-feedback" in banner
        web = re.search(r"http://127\.0\.0\.1:(\d+)/ \(inbox", banner).group(1)
        listing = subprocess.run(
            [
                sys.executable,
                "-m",
                "services.cli.main",
                "ses-sim",
                "--url",
                f"http://127.0.0.1:{web}",
                "tenant",
                "list",
                "--region",
                "eu-west-1",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert [t["name"] for t in json.loads(listing.stdout)["tenants"]] == ["eu-tenant"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
