from pathlib import Path

import pytest

from services.ses_sim.account import identities_named
from services.ses_sim.settings import SimulatorSettings


def test_defaults_are_a_fresh_production_account(monkeypatch):
    for name in ("POSTROOM_SIM_SANDBOX", "POSTROOM_SIM_DAILY_QUOTA", "POSTROOM_DATA_DIR", "POSTROOM_SNS_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = SimulatorSettings.from_env()
    assert (settings.smtp_port, settings.smtp_tls_port, settings.web_port, settings.sns_https_port) == (
        2587,
        2465,
        8025,
        8443,
    )
    assert settings.max_24_hour_send == 50_000 and settings.max_send_rate == 14
    assert settings.smtp_username.startswith("AKIA") and len(settings.smtp_password) == 44
    assert settings.ca_file == Path(".postroom/ses-sim-ca.pem")
    assert settings.pinned_cert_dir == Path(".postroom/sns-certs")
    assert settings.topic_arn == "arn:aws:sns:us-east-1:123456789012:ses-feedback"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("POSTROOM_SIM_SANDBOX", "1")
    monkeypatch.setenv("POSTROOM_SIM_VERIFIED_IDENTITIES", " a@x.test , Y.test ")
    monkeypatch.setenv("POSTROOM_SIM_AWS_ACCOUNT", "999999999999")
    monkeypatch.setenv("POSTROOM_SNS_CERT_DIR", "/tmp/pinned")
    settings = SimulatorSettings.from_env()
    assert settings.max_24_hour_send == 200 and settings.sandbox
    assert [identity.name for identity in identities_named(settings.verified_identities)] == ["a@x.test", "y.test"]
    assert settings.topic_arn.endswith(":999999999999:ses-feedback")
    assert settings.pinned_cert_dir == Path("/tmp/pinned")
    assert ("POSTROOM_SIM_SANDBOX", "1") in settings.described()


def test_limits_default_to_ses_own(monkeypatch):
    for name in (
        "POSTROOM_SIM_MAX_MESSAGE_BYTES",
        "POSTROOM_SIM_MAX_MESSAGES_PER_SESSION",
        "POSTROOM_SIM_REGIONS",
        "POSTROOM_SIM_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = SimulatorSettings.from_env()
    assert settings.max_message_bytes == 40 * 1024 * 1024 and settings.max_messages_per_session == 350
    assert settings.region_names == ("us-east-1",)


def test_further_regions_get_the_next_ports_and_their_own_seeds(monkeypatch):
    monkeypatch.setenv("POSTROOM_SIM_REGIONS", "us-east-1,eu-west-1,ap-south-1")
    monkeypatch.setenv("POSTROOM_SIM_SMTP_TLS_PORT_AP_SOUTH_1", "3465")
    monkeypatch.setenv("POSTROOM_SIM_SUPPRESSED", "a@x.test:COMPLAINT,b@x.test")
    monkeypatch.setenv("POSTROOM_SIM_SUPPRESSED_EU_WEST_1", "")
    monkeypatch.setenv("POSTROOM_SIM_VERIFIED_IDENTITIES_AP_SOUTH_1", "example.in")
    settings = SimulatorSettings.from_env()
    us, eu, ap = settings.regions()
    assert (us.name, us.smtp_port, us.smtp_tls_port) == ("us-east-1", 2587, 2465)
    assert (eu.smtp_port, eu.smtp_tls_port, ap.smtp_port, ap.smtp_tls_port) == (2588, 2466, 2589, 3465)
    assert us.suppressed == (("a@x.test", "COMPLAINT"), ("b@x.test", "BOUNCE")) and eu.suppressed == ()
    assert ap.verified_identities == ("example.in",) and eu.verified_identities == ("example.com",)
    assert settings.topic_arn_of("ap-south-1") == "arn:aws:sns:ap-south-1:123456789012:ses-feedback"


def test_port_zero_stays_zero_in_every_region():
    settings = SimulatorSettings(smtp_port=0, smtp_tls_port=0, extra_regions=("eu-west-1",))
    assert [(r.smtp_port, r.smtp_tls_port) for r in settings.regions()] == [(0, 0), (0, 0)]


@pytest.mark.parametrize(
    "variables, complaint",
    [
        ({"POSTROOM_SIM_REGIONS": "us-east-1,Europe"}, "not an AWS region"),
        ({"POSTROOM_SIM_REGIONS": "us-east-1,us-east-1"}, "twice"),
        ({"POSTROOM_SIM_REGIONS": "eu-west-1,us-east-1", "POSTROOM_SIM_REGION": "us-east-1"}, "first of"),
        ({"POSTROOM_SIM_SUPPRESSED": "a@x.test:SPAM"}, "address:BOUNCE"),
    ],
)
def test_bad_settings_stop_the_start_with_a_reason(monkeypatch, variables, complaint):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        SimulatorSettings.from_env()
    assert complaint in str(stopped.value)
