"""A Postroom service as a real process (`postroom serve <service>`), for crash, cluster and scale tests.

Each process gets its own ports, data dir and log file; the test can kill it with -9, stop it
with SIGTERM, wait until it serves, and read its Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.core.nats_server import free_port
from services.core.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def service_environment(settings: Settings, **overrides: str) -> dict[str, str]:
    """The POSTROOM_* variables a process needs to join the test's suite (stream, keys, CA)."""
    env = dict(os.environ,
               POSTROOM_NATS_URL=settings.nats_url, POSTROOM_STREAM=settings.stream_name,
               POSTROOM_SUBJECT_PREFIX=settings.subject_prefix, POSTROOM_STREAM_REPLICAS=str(settings.stream_replicas),
               POSTROOM_API_TOKEN=settings.api_token, POSTROOM_SECRET_KEY=settings.secret_keys,
               POSTROOM_SMTP_CA_FILE=settings.smtp_ca_file, POSTROOM_ALLOW_CUSTOM_SMTP_HOST="1",
               POSTROOM_LOG_LEVEL="WARNING", POSTROOM_SHUTDOWN_GRACE="1")
    if settings.unsubscribe_keys:
        env["POSTROOM_UNSUBSCRIBE_KEY"] = settings.unsubscribe_keys
    if settings.database_url:
        env["POSTROOM_DATABASE_URL"] = settings.database_url
    env.update(overrides)
    return env


class ServiceProcess:
    def __init__(self, service: str, env: dict[str, str], root: Path, name: str | None = None) -> None:
        self.service = service
        self.name = name or service
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.metrics_port = free_port()
        self.log_file = root / f"{self.name}.log"
        data_dir = root / self.name
        self.env = dict(env, POSTROOM_DATA_DIR=str(data_dir), POSTROOM_METRICS_PORT=str(self.metrics_port),
                        **{f"POSTROOM_{service.upper()}_GRPC_PORT": str(self.grpc_port)})
        if service in ("feedback", "unsubscribe"):
            self.env[f"POSTROOM_{service.upper()}_HTTP_PORT"] = str(self.http_port)
        self.process: subprocess.Popen | None = None

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
            self.process = subprocess.Popen([sys.executable, "-m", "services.cli.main", "serve", self.service],
                                            env=self.env, cwd=REPO, stdout=log, stderr=log)
        return self

    async def wait_until_serving(self, timeout: float = 60.0) -> "ServiceProcess":
        deadline = time.monotonic() + timeout
        async with grpc.aio.insecure_channel(self.grpc_address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                assert self.running, f"{self.name} exited:\n{self.log()[-3000:]}"
                try:
                    answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if answer.status == health_pb2.HealthCheckResponse.SERVING:
                        return self
                except grpc.aio.AioRpcError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} did not become ready:\n{self.log()[-3000:]}")

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
        process = ServiceProcess(service, env, self.root, name).start()
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop(10)
