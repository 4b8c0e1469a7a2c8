"""A Postroom service as a real process (`postroom serve <service>`), for crash, cluster, scale and
rebuild tests; and `postroom` commands run with the same configuration.

Each process has its own ports, data dir and log file; the test can kill it with -9, stop it with
SIGTERM, wait until it serves, watch its health and read its Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Awaitable, Callable, TypeVar

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.core.nats_server import free_port
from services.core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")
SERVING = health_pb2.HealthCheckResponse.SERVING


def settings_environment(settings: Settings) -> dict[str, str]:
    """The POSTROOM_* variables that make a process read `settings`."""
    ports = settings.ports
    env = dict(
        os.environ,
        POSTROOM_NATS_URL=settings.nats_url,
        POSTROOM_STREAM=settings.stream_name,
        POSTROOM_SUBJECT_PREFIX=settings.subject_prefix,
        POSTROOM_DATA_DIR=str(settings.data_dir),
        POSTROOM_DATABASE_URL=settings.database_url,
        POSTROOM_API_TOKEN=settings.api_token,
        POSTROOM_API_TOKENS=settings.api_tokens,
        POSTROOM_API_TOKENS_FILE=settings.api_tokens_file,
        POSTROOM_SECRET_KEY=settings.secret_keys,
        POSTROOM_UNSUBSCRIBE_KEY=settings.unsubscribe_keys,
        POSTROOM_PUBLIC_URL=settings.public_url,
        POSTROOM_SMTP_CA_FILE=settings.smtp_ca_file,
        POSTROOM_SMTP_TIMEOUT=str(settings.smtp_timeout),
        POSTROOM_SNS_CERT_DIR=settings.sns_cert_dir,
        POSTROOM_ALLOW_CUSTOM_SMTP_HOST="1" if settings.allow_custom_smtp_host else "",
        POSTROOM_SHUTDOWN_GRACE=str(settings.shutdown_grace),
        POSTROOM_LOG_LEVEL="INFO",
        POSTROOM_SNAPSHOT_INTERVAL=str(settings.snapshot_interval),
        POSTROOM_METRICS_PORT="0",
        POSTROOM_CONFIG_GRPC_PORT=str(ports.config_grpc),
        POSTROOM_DISPATCH_GRPC_PORT=str(ports.dispatch_grpc),
        POSTROOM_FEEDBACK_GRPC_PORT=str(ports.feedback_grpc),
        POSTROOM_FEEDBACK_HTTP_PORT=str(ports.feedback_http),
        POSTROOM_UNSUBSCRIBE_GRPC_PORT=str(ports.unsubscribe_grpc),
        POSTROOM_UNSUBSCRIBE_HTTP_PORT=str(ports.unsubscribe_http),
    )
    return {name: value for name, value in env.items() if value != ""}


def service_environment(settings: Settings, **overrides: str) -> dict[str, str]:
    """`settings_environment` for a process that joins the test's suite beside others (its ports
    and data dir are its own: see ServiceProcess.fresh), quieter, with `overrides`."""
    env = settings_environment(settings)
    env.update(
        POSTROOM_STREAM_REPLICAS=str(settings.stream_replicas),
        POSTROOM_ALLOW_CUSTOM_SMTP_HOST="1",
        POSTROOM_LOG_LEVEL="WARNING",
        POSTROOM_SHUTDOWN_GRACE="1",
    )
    env.update(overrides)
    return env


class ServiceProcess:
    def __init__(
        self,
        service: str,
        env: dict[str, str],
        log_file: Path,
        *,
        grpc_port: int,
        http_port: int = 0,
        metrics_port: int = 0,
        name: str | None = None,
    ) -> None:
        self.service = service
        self.name = name or service
        self.grpc_port, self.http_port, self.metrics_port = grpc_port, http_port, metrics_port
        self.log_file = log_file
        self.env = env
        self.process: subprocess.Popen | None = None
        self.statuses: list[int] = []  # every health answer watch_health saw

    @classmethod
    def fresh(cls, service: str, env: dict[str, str], root: Path, name: str | None = None) -> "ServiceProcess":
        """A process with ports and a data dir of its own under `root` (several may run side by side)."""
        name = name or service
        grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
        env = dict(
            env,
            POSTROOM_DATA_DIR=str(root / name),
            POSTROOM_METRICS_PORT=str(metrics_port),
            **{f"POSTROOM_{service.upper()}_GRPC_PORT": str(grpc_port)},
        )
        if service in ("feedback", "unsubscribe"):
            env[f"POSTROOM_{service.upper()}_HTTP_PORT"] = str(http_port)
        return cls(
            service,
            env,
            root / f"{name}.log",
            grpc_port=grpc_port,
            http_port=http_port,
            metrics_port=metrics_port,
            name=name,
        )

    @classmethod
    def for_settings(cls, service: str, settings: Settings, log_file: Path) -> "ServiceProcess":
        """The process `settings` describe: its ports and data dir."""
        ports = settings.ports
        http_port = getattr(ports, f"{service}_http", 0)
        return cls(
            service, settings_environment(settings), log_file, grpc_port=ports.grpc_port(service), http_port=http_port
        )

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> "ServiceProcess":
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli.main", "serve", self.service],
                env=self.env,
                cwd=REPO,
                stdout=log,
                stderr=log,
            )
        return self

    async def wait_until_serving(self, timeout: float = 60.0) -> "ServiceProcess":
        deadline = time.monotonic() + timeout
        async with grpc.aio.insecure_channel(self.grpc_address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                assert self.running, f"{self.name} exited:\n{self.log()[-3000:]}"
                try:
                    if (await health.Check(health_pb2.HealthCheckRequest(), timeout=1)).status == SERVING:
                        return self
                except grpc.aio.AioRpcError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} did not become ready:\n{self.log()[-3000:]}")

    async def watch_health(self, stop: asyncio.Event, interval: float = 0.05) -> None:
        """Record the health status every `interval` until `stop` is set (a refused call counts as
        NOT_SERVING)."""
        async with grpc.aio.insecure_channel(self.grpc_address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while not stop.is_set():
                try:
                    self.statuses.append((await health.Check(health_pb2.HealthCheckRequest(), timeout=2)).status)
                except grpc.aio.AioRpcError:
                    self.statuses.append(health_pb2.HealthCheckResponse.NOT_SERVING)
                await asyncio.sleep(interval)

    def kill(self) -> None:
        """kill -9: no drain, no goodbye."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, as Kubernetes does on a scale-down or a rolling deploy."""
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def metric(self, name: str, labels: str = "") -> float:
        """The sum of a metric's samples whose label set contains `labels` (e.g. 'outcome="EmailDispatched"')."""
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        total = 0.0
        for line in body.splitlines():
            if line.startswith(name) and not line.startswith("#") and labels in line:
                sample_name = line.split("{", 1)[0].split(" ", 1)[0]
                if sample_name == name:
                    total += float(line.rsplit(" ", 1)[1])
        return total


class ProcessGroup:
    """The processes a test started: all stopped at the end, whatever happened."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.processes: list[ServiceProcess] = []

    def start(self, service: str, env: dict[str, str], name: str | None = None) -> ServiceProcess:
        process = ServiceProcess.fresh(service, env, self.root, name).start()
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop(10)


async def run_cli(settings: Settings, *args: str, timeout: float = 120.0) -> str:
    """`postroom ARGS` with `settings`, without blocking the event loop; its stderr."""
    return (await cli_output(settings, *args, timeout=timeout))[1]


async def cli_output(settings: Settings, *args: str, timeout: float = 120.0) -> tuple[str, str]:
    """`postroom ARGS` with `settings`, which must succeed; its stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        *args,
        env=settings_environment(settings),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode == 0, f"postroom {' '.join(args)} failed:\n{err.decode(errors='replace')[-3000:]}"
    return out.decode(errors="replace"), err.decode(errors="replace")


async def keep_posting(
    stop: asyncio.Event, request_for: Callable[[int], tuple[str, bytes, dict[str, str]]], connections: int = 16
) -> collections.Counter:
    """POST `request_for(n)` (url, body, headers) over `connections` connections until `stop`;
    how many answers had each status."""
    statuses: collections.Counter = collections.Counter()
    numbers = itertools.count()

    async def one_connection(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            url, body, headers = request_for(next(numbers))
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                statuses[answer.status] += 1

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        await asyncio.gather(*(one_connection(session) for _ in range(connections)))
    return statuses


async def replay_under_load(
    service: ServiceProcess, settings: Settings, load: Callable[[asyncio.Event], Awaitable[T]]
) -> T:
    """`postroom replay <service>` while `load(stop)` runs against the service and its health is
    watched; the service must switch to the rebuilt read model and stay SERVING throughout.
    Returns what `load` returned."""
    stop = asyncio.Event()
    watching = asyncio.create_task(service.watch_health(stop))
    loading = asyncio.create_task(load(stop))
    await asyncio.sleep(0.5)
    replayed = await run_cli(settings, "replay", service.service)
    await asyncio.sleep(1.0)  # the load carries on against the switched model
    stop.set()
    result, _ = await asyncio.gather(loading, watching)
    assert "switched" in replayed, replayed[-1000:]
    assert "read model switched" in service.log(), service.log()[-3000:]
    assert set(service.statuses) == {SERVING}, "health left SERVING during the rebuild"
    return result
