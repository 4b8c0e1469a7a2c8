from pathlib import Path

from services.ses_sim.account import identities_named
from services.ses_sim.settings import SimulatorSettings


def test_defaults_are_a_fresh_production_account(monkeypatch):
    for name in ("POSTROOM_SIM_SANDBOX", "POSTROOM_SIM_DAILY_QUOTA", "POSTROOM_DATA_DIR", "POSTROOM_SNS_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = SimulatorSettings.from_env()
    assert (settings.smtp_port, settings.smtp_tls_port, settings.web_port, settings.sns_https_port) == \
        (2587, 2465, 8025, 8443)
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
