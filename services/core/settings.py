"""Settings from environment variables, all prefixed POSTROOM_ (the README lists them)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from services.core.access_tokens import AccessTokens, TokenSpecError

SERVICES = ("config", "dispatch", "feedback", "unsubscribe")
# nats-py is loaded without its WebSocket transport (services/core/nats_without_websockets.py).
NATS_SCHEMES = ("nats", "tls")


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"POSTROOM_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"POSTROOM_{name} must be a whole number, got {raw!r}") from None


def _env_float(name: str, default: float) -> float:
    raw = _env(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"POSTROOM_{name} must be a number, got {raw!r}") from None


def _env_bool(name: str) -> bool:
    return _env(name).lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Ports:
    config_grpc: int = 50051
    dispatch_grpc: int = 50052
    feedback_grpc: int = 50053
    feedback_http: int = 8081
    unsubscribe_grpc: int = 50054
    unsubscribe_http: int = 8082
    nats: int = 4250

    @classmethod
    def from_env(cls) -> "Ports":
        return cls(
            config_grpc=_env_int("CONFIG_GRPC_PORT", cls.config_grpc),
            dispatch_grpc=_env_int("DISPATCH_GRPC_PORT", cls.dispatch_grpc),
            feedback_grpc=_env_int("FEEDBACK_GRPC_PORT", cls.feedback_grpc),
            feedback_http=_env_int("FEEDBACK_HTTP_PORT", cls.feedback_http),
            unsubscribe_grpc=_env_int("UNSUBSCRIBE_GRPC_PORT", cls.unsubscribe_grpc),
            unsubscribe_http=_env_int("UNSUBSCRIBE_HTTP_PORT", cls.unsubscribe_http),
            nats=_env_int("NATS_PORT", cls.nats),
        )

    def grpc_port(self, service: str) -> int:
        return getattr(self, f"{service}_grpc")


@dataclass(frozen=True)
class Settings:
    nats_url: str = ""
    stream_name: str = "POSTROOM"
    subject_prefix: str = "postroom"
    stream_replicas: int = 1
    data_dir: Path = Path(".postroom")
    database_url: str = ""
    api_token: str = ""  # one all-accounts token (what the CLI sends, too)
    api_tokens: str = ""  # `<sha256>=<accounts|all>` entries (services/core/access_tokens.py)
    api_tokens_file: str = ""
    secret_keys: str = ""
    public_url: str = "http://127.0.0.1:8081"
    bind_host: str = "127.0.0.1"
    ports: Ports = field(default_factory=Ports)
    metrics_port: int = 0
    allow_custom_smtp_host: bool = False
    smtp_ca_file: str = ""
    smtp_timeout: float = 15.0
    ses_endpoint_url: str = ""
    ses_account_poll_seconds: float = 300.0  # how often config reads each provider's SES account (GetAccount)
    ses_suppression_sync_seconds: float = 900.0  # how often config imports SES's suppression list
    log_level: str = "INFO"
    otlp_endpoint: str = ""  # an OTLP/gRPC collector (http://host:4317): traces on
    event_loop: str = "uvloop"  # or "asyncio" (services/core/event_loop.py)
    shutdown_grace: float = 20.0
    # the event log (see "At scale" in the README)
    append_patience: float = 10.0  # a caller's request waits this long for a durable append
    log_outage_deadline: float = 180.0  # an append owed to the log (an outcome SES already has) waits this long before the service reports NOT_SERVING
    # read models
    snapshot_interval: float = 300.0  # seconds between SQLite read-model snapshots; 0 = none
    # dispatch
    dispatch_max_attempts: int = 8
    dispatch_concurrency: int = 200
    dispatch_message_budget_mb: int = 64  # email content and built messages one process holds at once
    dispatch_accepting_emails: int = 2000  # emails one process accepts at once (SendEmail, SendEmailBatch)
    dispatch_ack_wait: float = 0.0  # 0: four SMTP timeouts, at least 5 s
    pause_after_failures: int = 5
    # content (bodies and attachments, in the content store beside the stream)
    content_retention_days: float = 7.0  # kept this long after its dispatch's outcome
    content_orphan_grace: float = 86400.0  # content no email names (an unused upload) is removed after this
    content_sweep_interval: float = 300.0  # seconds between sweeps
    soft_bounce_threshold: int = 3
    soft_bounce_window_days: int = 30
    # the deliverability guard: SES reviews an account at 5% bounces / 0.1% complaints and may pause
    # it at 10% / 0.5%; Postroom pauses a provider's non-transactional mail first, at these lines
    guard_bounce_rate: float = 0.04
    guard_complaint_rate: float = 0.0008
    guard_all_mail_bounce_rate: float = 0.08  # near SES's pause line: transactional mail stops too
    guard_all_mail_complaint_rate: float = 0.004
    guard_min_sends: int = 500  # the guard acts only on this many sends in its window
    guard_window_sends: int = 10_000  # the window: the last this many sends...
    guard_window_days: float = 7.0  # ...of the last this many days, whichever is fewer
    guard_check_seconds: float = 1.0  # how often dispatch compares the rates with the lines
    # feedback
    sns_cert_dir: str = ""
    sns_max_age_seconds: float = 3600.0
    sns_ca_file: str = ""
    sns_resolve: str = ""
    # unsubscribe
    unsubscribe_keys: str = ""
    unsubscribe_public_url: str = "http://127.0.0.1:8082"
    unsubscribe_mailto: str = ""
    unsubscribe_token_max_age_days: int = 0

    @classmethod
    def from_env(cls) -> "Settings":
        ports = Ports.from_env()
        return cls(
            nats_url=_env("NATS_URL", f"nats://127.0.0.1:{ports.nats}"),
            stream_name=_env("STREAM", "POSTROOM"),
            subject_prefix=_env("SUBJECT_PREFIX", "postroom"),
            stream_replicas=_env_int("STREAM_REPLICAS", 1),
            data_dir=Path(_env("DATA_DIR", ".postroom")),
            database_url=_env("DATABASE_URL"),
            api_token=_env("API_TOKEN"),
            api_tokens=_env("API_TOKENS"),
            api_tokens_file=_env("API_TOKENS_FILE"),
            secret_keys=_env("SECRET_KEY"),
            public_url=_env("PUBLIC_URL", f"http://127.0.0.1:{ports.feedback_http}").rstrip("/"),
            bind_host=_env("BIND_HOST", "127.0.0.1"),
            ports=ports,
            metrics_port=_env_int("METRICS_PORT", 0),
            allow_custom_smtp_host=_env_bool("ALLOW_CUSTOM_SMTP_HOST"),
            smtp_ca_file=_env("SMTP_CA_FILE"),
            smtp_timeout=_env_float("SMTP_TIMEOUT", 15.0),
            ses_endpoint_url=_env("SES_ENDPOINT_URL"),
            ses_account_poll_seconds=_env_float("SES_ACCOUNT_POLL_SECONDS", 300.0),
            ses_suppression_sync_seconds=_env_float("SES_SUPPRESSION_SYNC_SECONDS", 900.0),
            log_level=_env("LOG_LEVEL", "INFO").upper(),
            otlp_endpoint=_env("OTLP_ENDPOINT"),
            event_loop=_env("EVENT_LOOP", "uvloop").lower(),
            shutdown_grace=_env_float("SHUTDOWN_GRACE", 20.0),
            append_patience=_env_float("APPEND_PATIENCE", 10.0),
            log_outage_deadline=_env_float("LOG_OUTAGE_DEADLINE", 180.0),
            snapshot_interval=_env_float("SNAPSHOT_INTERVAL", 300.0),
            dispatch_max_attempts=_env_int("DISPATCH_MAX_ATTEMPTS", 8),
            dispatch_concurrency=_env_int("DISPATCH_CONCURRENCY", 200),
            dispatch_message_budget_mb=_env_int("DISPATCH_MESSAGE_BUDGET_MB", 64),
            dispatch_accepting_emails=_env_int("DISPATCH_ACCEPTING_EMAILS", 2000),
            dispatch_ack_wait=_env_float("DISPATCH_ACK_WAIT", 0.0),
            pause_after_failures=_env_int("PAUSE_AFTER_FAILURES", 5),
            content_retention_days=_env_float("CONTENT_RETENTION_DAYS", 7.0),
            content_orphan_grace=_env_float("CONTENT_ORPHAN_GRACE", 86400.0),
            content_sweep_interval=_env_float("CONTENT_SWEEP_INTERVAL", 300.0),
            soft_bounce_threshold=_env_int("SOFT_BOUNCE_THRESHOLD", 3),
            soft_bounce_window_days=_env_int("SOFT_BOUNCE_WINDOW_DAYS", 30),
            guard_bounce_rate=_env_float("GUARD_BOUNCE_RATE", cls.guard_bounce_rate),
            guard_complaint_rate=_env_float("GUARD_COMPLAINT_RATE", cls.guard_complaint_rate),
            guard_all_mail_bounce_rate=_env_float("GUARD_ALL_MAIL_BOUNCE_RATE", cls.guard_all_mail_bounce_rate),
            guard_all_mail_complaint_rate=_env_float(
                "GUARD_ALL_MAIL_COMPLAINT_RATE", cls.guard_all_mail_complaint_rate
            ),
            guard_min_sends=_env_int("GUARD_MIN_SENDS", cls.guard_min_sends),
            guard_window_sends=_env_int("GUARD_WINDOW_SENDS", cls.guard_window_sends),
            guard_window_days=_env_float("GUARD_WINDOW_DAYS", cls.guard_window_days),
            guard_check_seconds=_env_float("GUARD_CHECK_SECONDS", cls.guard_check_seconds),
            sns_cert_dir=_env("SNS_CERT_DIR"),
            sns_max_age_seconds=_env_float("SNS_MAX_AGE", 3600.0),
            sns_ca_file=_env("SNS_CA_FILE"),
            sns_resolve=_env("SNS_RESOLVE"),
            unsubscribe_keys=_env("UNSUBSCRIBE_KEY"),
            unsubscribe_public_url=_env("UNSUBSCRIBE_PUBLIC_URL", f"http://127.0.0.1:{ports.unsubscribe_http}").rstrip(
                "/"
            ),
            unsubscribe_mailto=_env("UNSUBSCRIBE_MAILTO"),
            unsubscribe_token_max_age_days=_env_int("UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS", 0),
        )

    @property
    def access_tokens(self) -> AccessTokens:
        """Every token the gRPC services accept, with the accounts each may act for."""
        try:
            return AccessTokens.from_sources(self.api_token, self.api_tokens, self.api_tokens_file)
        except TokenSpecError as error:
            raise SystemExit(str(error)) from None

    @property
    def nats_servers(self) -> list[str]:
        """POSTROOM_NATS_URL is one URL or a comma-separated list of seeds (any one reachable will do)."""
        servers = [url.strip() for url in self.nats_url.split(",") if url.strip()]
        for url in servers:
            scheme = url.partition("://")[0].lower() if "://" in url else "nats"
            if scheme not in NATS_SCHEMES:
                raise SystemExit(
                    f"POSTROOM_NATS_URL: {scheme}:// is not supported; use nats:// or tls:// (host:port is nats://)"
                )
        return servers

    def database_url_for(self, service: str) -> str:
        """One SQLite file per service by default; a shared URL (PostgreSQL) when set."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / f'{service}.db'}"
