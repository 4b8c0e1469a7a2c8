"""The simulator's settings, from POSTROOM_SIM_* environment variables (defaults mimic a fresh SES account).

Several regions may be served (`POSTROOM_SIM_REGIONS=us-east-1,eu-west-1`, the first the default).
What a region starts with (verified identities, suppressed addresses, configuration sets, tenants)
is the same for every region unless a region has its own value: the variable's name followed by the
region, upper-cased with `_` for `-` (`POSTROOM_SIM_VERIFIED_IDENTITIES_EU_WEST_1`). A further region
listens for SMTP on the default ports plus its position (2588 and 2466 for the second), unless
`POSTROOM_SIM_SMTP_PORT_<REGION>` / `POSTROOM_SIM_SMTP_TLS_PORT_<REGION>` say otherwise.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from services.core.ses_message import MAX_MESSAGE_BYTES  # SES's SMTP interface: whole messages up to 40 MB

# SES closes an SMTP session past a number of messages it does not document; users report the
# 421 after 350 (https://repost.aws/questions/QUw5qK9rBFSKqXvW5a-nAteg).
MAX_MESSAGES_PER_SESSION = 350
SANDBOX_DAILY_QUOTA = 200  # what SES gives a sandboxed account per 24 hours
PRODUCTION_DAILY_QUOTA = 50_000
DEFAULT_USERNAME = "AKIAPOSTROOMSESSIM01"  # 20 characters, like an SES SMTP username
DEFAULT_PASSWORD = "BPostroomSesSimulatorSmtpPassword0123456789a"  # 44 characters, like SES's
_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]")


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _env_number(name: str, default: float | None, kind: type = int):
    raw = os.environ.get(name, "")
    try:
        return kind(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a {'whole ' if kind is int else ''}number, got {raw!r}") from None


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_suppressed(text: str, variable: str = "POSTROOM_SIM_SUPPRESSED") -> tuple[tuple[str, str], ...]:
    """`a@x.test:BOUNCE,b@y.test:COMPLAINT` (the reason defaults to BOUNCE)."""
    entries = []
    for item in _names(text):
        address, _, reason = item.rpartition(":") if ":" in item else (item, "", "BOUNCE")
        reason = reason.strip().upper() or "BOUNCE"
        if "@" not in address or reason not in ("BOUNCE", "COMPLAINT"):
            raise SystemExit(f"{variable}: {item!r} must be address:BOUNCE or address:COMPLAINT")
        entries.append((address.strip(), reason))
    return tuple(entries)


def region_suffix(region: str) -> str:
    """`eu-west-1` -> `EU_WEST_1`, the suffix of a region's own variables."""
    return region.upper().replace("-", "_")


@dataclass(frozen=True)
class RegionOverride:
    """What one further region has of its own (None: the simulator-wide value)."""

    region: str
    smtp_port: int | None = None
    smtp_tls_port: int | None = None
    verified_identities: tuple[str, ...] | None = None
    suppressed: tuple[tuple[str, str], ...] | None = None
    configuration_sets: tuple[str, ...] | None = None
    tenants: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RegionSettings:
    """What one served region starts with."""

    name: str
    smtp_port: int
    smtp_tls_port: int
    verified_identities: tuple[str, ...]
    suppressed: tuple[tuple[str, str], ...]
    configuration_sets: tuple[str, ...]
    tenants: tuple[str, ...]


@dataclass(frozen=True)
class SimulatorSettings:
    data_dir: Path = Path(".postroom")
    host: str = "127.0.0.1"
    smtp_port: int = 2587  # STARTTLS
    smtp_tls_port: int = 2465  # implicit TLS
    web_port: int = 8025  # inbox page, JSON API, SES API, control endpoint
    sns_https_port: int = 8443  # stands in for https://sns.<region>.amazonaws.com
    smtp_username: str = DEFAULT_USERNAME
    smtp_password: str = DEFAULT_PASSWORD
    max_send_rate: float = 14.0
    daily_quota: int | None = None  # None: 200 in the sandbox, 50,000 in production
    verified_identities: tuple[str, ...] = ("example.com",)
    sandbox: bool = False
    region: str = "us-east-1"  # the default region
    extra_regions: tuple[str, ...] = ()  # further regions served by the same process
    aws_account: str = "123456789012"
    sns_cert_dir: Path | None = None  # default: <data_dir>/sns-certs
    notification_delay: float = 0.5  # SES reports outcomes a moment after accepting the message
    max_kept_messages: int = 10_000
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_messages_per_session: int = MAX_MESSAGES_PER_SESSION
    suppressed: tuple[tuple[str, str], ...] = ()  # (address, BOUNCE | COMPLAINT) on the account's list
    configuration_sets: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()  # each associated with every identity and configuration set at start
    region_overrides: tuple[RegionOverride, ...] = field(default=())

    @classmethod
    def from_env(cls) -> "SimulatorSettings":
        sandbox = _env_bool("POSTROOM_SIM_SANDBOX")
        cert_dir = os.environ.get("POSTROOM_SNS_CERT_DIR", "")
        region, extra_regions = _regions_from_env()
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
            verified_identities=_names(_env("POSTROOM_SIM_VERIFIED_IDENTITIES", "example.com")),
            sandbox=sandbox,
            region=region,
            extra_regions=extra_regions,
            aws_account=_env("POSTROOM_SIM_AWS_ACCOUNT", "123456789012"),
            sns_cert_dir=Path(cert_dir) if cert_dir else None,
            notification_delay=_env_number("POSTROOM_SIM_NOTIFICATION_DELAY", 0.5, float),
            max_message_bytes=_env_number("POSTROOM_SIM_MAX_MESSAGE_BYTES", MAX_MESSAGE_BYTES),
            max_messages_per_session=_env_number("POSTROOM_SIM_MAX_MESSAGES_PER_SESSION", MAX_MESSAGES_PER_SESSION),
            suppressed=parse_suppressed(os.environ.get("POSTROOM_SIM_SUPPRESSED", "")),
            configuration_sets=_names(os.environ.get("POSTROOM_SIM_CONFIGURATION_SETS", "")),
            tenants=_names(os.environ.get("POSTROOM_SIM_TENANTS", "")),
            region_overrides=tuple(_override_from_env(name) for name in extra_regions),
        )

    @property
    def max_24_hour_send(self) -> int:
        if self.daily_quota is not None:
            return self.daily_quota
        return SANDBOX_DAILY_QUOTA if self.sandbox else PRODUCTION_DAILY_QUOTA

    @property
    def region_names(self) -> tuple[str, ...]:
        return (self.region, *(name for name in self.extra_regions if name != self.region))

    def regions(self) -> tuple[RegionSettings, ...]:
        """Every served region, the default first, with what it starts with."""
        overrides = {override.region: override for override in self.region_overrides}
        return tuple(
            self._region(index, name, overrides.get(name, RegionOverride(name)))
            for index, name in enumerate(self.region_names)
        )

    def _region(self, index: int, name: str, own: RegionOverride) -> RegionSettings:
        def pick(value, default):
            return default if value is None else value

        def shifted(port: int) -> int:
            return port + index if port and index else port

        return RegionSettings(
            name,
            pick(own.smtp_port, shifted(self.smtp_port)),
            pick(own.smtp_tls_port, shifted(self.smtp_tls_port)),
            pick(own.verified_identities, self.verified_identities),
            pick(own.suppressed, self.suppressed),
            pick(own.configuration_sets, self.configuration_sets),
            pick(own.tenants, self.tenants),
        )

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
        return self.topic_arn_of(self.region)

    def topic_arn_of(self, region: str) -> str:
        return f"arn:aws:sns:{region}:{self.aws_account}:ses-feedback"

    def described(self) -> list[tuple[str, str]]:
        """What is printed at start: every setting with the variable that overrides it (no secrets hidden:
        the SMTP credentials are made-up local ones, and printing them is the point)."""
        lines = [
            ("POSTROOM_SIM_SMTP_PORT", f"{self.host}:{self.smtp_port} (STARTTLS)"),
            ("POSTROOM_SIM_SMTP_TLS_PORT", f"{self.host}:{self.smtp_tls_port} (TLS)"),
            ("POSTROOM_SIM_WEB_PORT", f"http://{self.host}:{self.web_port}/ (inbox, SES API, /_sim control)"),
            ("POSTROOM_SIM_SNS_HTTPS_PORT", f"{self.host}:{self.sns_https_port} (sns.<region>.amazonaws.com)"),
            ("POSTROOM_SIM_SMTP_USERNAME", self.smtp_username),
            ("POSTROOM_SIM_SMTP_PASSWORD", self.smtp_password),
            ("POSTROOM_SIM_MAX_SEND_RATE", f"{self.max_send_rate:g}/s"),
            ("POSTROOM_SIM_DAILY_QUOTA", str(self.max_24_hour_send)),
            ("POSTROOM_SIM_VERIFIED_IDENTITIES", ",".join(self.verified_identities)),
            ("POSTROOM_SIM_SANDBOX", "1" if self.sandbox else "0"),
            ("POSTROOM_SIM_REGION", self.region),
            ("POSTROOM_SIM_REGIONS", ",".join(self.region_names)),
            ("POSTROOM_SIM_AWS_ACCOUNT", self.aws_account),
            ("POSTROOM_SIM_NOTIFICATION_DELAY", f"{self.notification_delay:g}s"),
            ("POSTROOM_SIM_MAX_MESSAGE_BYTES", str(self.max_message_bytes)),
            ("POSTROOM_SIM_MAX_MESSAGES_PER_SESSION", str(self.max_messages_per_session)),
            ("POSTROOM_SIM_SUPPRESSED", ",".join(f"{a}:{r}" for a, r in self.suppressed)),
            ("POSTROOM_SIM_CONFIGURATION_SETS", ",".join(self.configuration_sets)),
            ("POSTROOM_SIM_TENANTS", ",".join(self.tenants)),
            ("POSTROOM_DATA_DIR", str(self.data_dir)),
            ("POSTROOM_SNS_CERT_DIR", str(self.pinned_cert_dir)),
        ]
        for region in self.regions()[1:]:
            suffix = region_suffix(region.name)
            lines += [
                (f"POSTROOM_SIM_SMTP_PORT_{suffix}", f"{self.host}:{region.smtp_port} (STARTTLS, {region.name})"),
                (f"POSTROOM_SIM_SMTP_TLS_PORT_{suffix}", f"{self.host}:{region.smtp_tls_port} (TLS, {region.name})"),
            ]
        return lines


def _regions_from_env() -> tuple[str, tuple[str, ...]]:
    single = os.environ.get("POSTROOM_SIM_REGION", "")
    listed = _names(os.environ.get("POSTROOM_SIM_REGIONS", "")) or (single or "us-east-1",)
    for name in listed:
        if not _REGION.fullmatch(name):
            raise SystemExit(f"POSTROOM_SIM_REGIONS: {name!r} is not an AWS region name (like eu-west-1)")
    if len(set(listed)) != len(listed):
        raise SystemExit(f"POSTROOM_SIM_REGIONS names a region twice: {','.join(listed)}")
    if single and single != listed[0]:
        raise SystemExit(
            f"POSTROOM_SIM_REGION={single} but POSTROOM_SIM_REGIONS starts with {listed[0]}: the "
            "first of POSTROOM_SIM_REGIONS is the default region; set one of the two"
        )
    return listed[0], tuple(listed[1:])


def _override_from_env(region: str) -> RegionOverride:
    suffix = region_suffix(region)

    def own(name: str) -> str | None:
        return os.environ.get(f"{name}_{suffix}")  # set but empty means "none in this region"

    def port(name: str) -> int | None:
        return _env_number(f"{name}_{suffix}", None) if own(name) else None

    identities, suppressed = own("POSTROOM_SIM_VERIFIED_IDENTITIES"), own("POSTROOM_SIM_SUPPRESSED")
    sets, tenants = own("POSTROOM_SIM_CONFIGURATION_SETS"), own("POSTROOM_SIM_TENANTS")
    return RegionOverride(
        region,
        port("POSTROOM_SIM_SMTP_PORT"),
        port("POSTROOM_SIM_SMTP_TLS_PORT"),
        None if identities is None else _names(identities),
        None if suppressed is None else parse_suppressed(suppressed, f"POSTROOM_SIM_SUPPRESSED_{suffix}"),
        None if sets is None else _names(sets),
        None if tenants is None else _names(tenants),
    )
