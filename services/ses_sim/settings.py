"""The simulator's settings, from POSTROOM_SIM_* environment variables (defaults mimic a fresh SES account)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # SES's SMTP interface refuses messages over 10 MB
SANDBOX_DAILY_QUOTA = 200  # what SES gives a sandboxed account per 24 hours
PRODUCTION_DAILY_QUOTA = 50_000
DEFAULT_USERNAME = "AKIAPOSTROOMSESSIM01"  # 20 characters, like an SES SMTP username
DEFAULT_PASSWORD = "BPostroomSesSimulatorSmtpPassword0123456789a"  # 44 characters, like SES's


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _env_number(name: str, default: float, kind: type = int):
    raw = os.environ.get(name, "")
    try:
        return kind(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a {'whole ' if kind is int else ''}number, got {raw!r}") from None


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SimulatorSettings:
    data_dir: Path = Path(".postroom")
    host: str = "127.0.0.1"
    smtp_port: int = 2587  # STARTTLS
    smtp_tls_port: int = 2465  # implicit TLS
    web_port: int = 8025  # inbox page, JSON API, SES API
    sns_https_port: int = 8443  # stands in for https://sns.<region>.amazonaws.com
    smtp_username: str = DEFAULT_USERNAME
    smtp_password: str = DEFAULT_PASSWORD
    max_send_rate: float = 14.0
    daily_quota: int | None = None  # None: 200 in the sandbox, 50,000 in production
    verified_identities: tuple[str, ...] = ("example.com",)
    sandbox: bool = False
    region: str = "us-east-1"
    aws_account: str = "123456789012"
    sns_cert_dir: Path | None = None  # default: <data_dir>/sns-certs
    notification_delay: float = 0.5  # SES reports outcomes a moment after accepting the message
    max_kept_messages: int = 10_000

    @classmethod
    def from_env(cls) -> "SimulatorSettings":
        sandbox = _env_bool("POSTROOM_SIM_SANDBOX")
        identities = _env("POSTROOM_SIM_VERIFIED_IDENTITIES", "example.com")
        cert_dir = os.environ.get("POSTROOM_SNS_CERT_DIR", "")
        return cls(
            data_dir=Path(_env("POSTROOM_DATA_DIR", ".postroom")),
            host=_env("POSTROOM_SIM_HOST", "127.0.0.1"),
            smtp_port=_env_number("POSTROOM_SIM_SMTP_PORT", 2587),
            smtp_tls_port=_env_number("POSTROOM_SIM_SMTP_TLS_PORT", 2465),
            web_port=_env_number("POSTROOM_SIM_WEB_PORT", 8025),
            sns_https_port=_env_number("POSTROOM_SIM_SNS_HTTPS_PORT", 8443),
            smtp_username=_env("POSTROOM_SIM_SMTP_USERNAME", DEFAULT_USERNAME),
            smtp_password=_env("POSTROOM_SIM_SMTP_PASSWORD", DEFAULT_PASSWORD),
            max_send_rate=_env_number("POSTROOM_SIM_MAX_SEND_RATE", 14.0, float),
            daily_quota=_env_number("POSTROOM_SIM_DAILY_QUOTA", None),
            verified_identities=tuple(part.strip() for part in identities.split(",") if part.strip()),
            sandbox=sandbox,
            region=_env("POSTROOM_SIM_REGION", "us-east-1"),
            aws_account=_env("POSTROOM_SIM_AWS_ACCOUNT", "123456789012"),
            sns_cert_dir=Path(cert_dir) if cert_dir else None,
            notification_delay=_env_number("POSTROOM_SIM_NOTIFICATION_DELAY", 0.5, float),
        )

    @property
    def max_24_hour_send(self) -> int:
        if self.daily_quota is not None:
            return self.daily_quota
        return SANDBOX_DAILY_QUOTA if self.sandbox else PRODUCTION_DAILY_QUOTA

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "ses-sim"

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "ses-sim-ca.pem"

    @property
    def pinned_cert_dir(self) -> Path:
        return self.sns_cert_dir or self.data_dir / "sns-certs"

    @property
    def topic_arn(self) -> str:
        return f"arn:aws:sns:{self.region}:{self.aws_account}:ses-feedback"

    def described(self) -> list[tuple[str, str]]:
        """What is printed at start: every setting with the variable that overrides it (no secrets hidden:
        the SMTP credentials are made-up local ones, and printing them is the point)."""
        return [
            ("POSTROOM_SIM_SMTP_PORT", f"{self.host}:{self.smtp_port} (STARTTLS)"),
            ("POSTROOM_SIM_SMTP_TLS_PORT", f"{self.host}:{self.smtp_tls_port} (TLS)"),
            ("POSTROOM_SIM_WEB_PORT", f"http://{self.host}:{self.web_port}/ (inbox, SES API)"),
            ("POSTROOM_SIM_SNS_HTTPS_PORT", f"{self.host}:{self.sns_https_port} (sns.<region>.amazonaws.com)"),
            ("POSTROOM_SIM_SMTP_USERNAME", self.smtp_username),
            ("POSTROOM_SIM_SMTP_PASSWORD", self.smtp_password),
            ("POSTROOM_SIM_MAX_SEND_RATE", f"{self.max_send_rate:g}/s"),
            ("POSTROOM_SIM_DAILY_QUOTA", str(self.max_24_hour_send)),
            ("POSTROOM_SIM_VERIFIED_IDENTITIES", ",".join(self.verified_identities)),
            ("POSTROOM_SIM_SANDBOX", "1" if self.sandbox else "0"),
            ("POSTROOM_SIM_REGION", self.region),
            ("POSTROOM_SIM_AWS_ACCOUNT", self.aws_account),
            ("POSTROOM_SIM_NOTIFICATION_DELAY", f"{self.notification_delay:g}s"),
            ("POSTROOM_DATA_DIR", str(self.data_dir)),
            ("POSTROOM_SNS_CERT_DIR", str(self.pinned_cert_dir)),
        ]
