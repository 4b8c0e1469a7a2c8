"""The whole suite as separate processes, wired as `make run` wires it, for end-to-end tests.

NATS is started by the test (so it outlives a stopped suite, for replays and restarts); the SES
stand-in, config, dispatch, feedback and unsubscribe are `postroom` processes that a test can
kill -9 and start again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli.dev import simulator_environment
from services.core.generated.postroom.v1 import dispatch_pb2, events_pb2
from services.core.nats_server import EmbeddedNatsServer, free_port
from services.core.secret_box import generate_key_spec
from services.core.settings import SERVICES, Settings
from tests.conftest import TEST_TOKEN
from tests.support.smtp import unused_loopback_host

AUTH = (("authorization", f"Bearer {TEST_TOKEN}"),)
SIM_USERNAME = "AKIAPOSTROOMSESSIM01"
SIM_PASSWORD = "BPostroomSesSimulatorSmtpPassword0123456789a"
SIM_TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"
SIM_SECRETS = {"POSTROOM_SMTP_PASSWORD": SIM_PASSWORD, "POSTROOM_SES_SECRET_ACCESS_KEY": "local-sim-secret"}


@dataclass
class Suite:
    root: Path
    overrides: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    nats: EmbeddedNatsServer | None = None

    def __post_init__(self) -> None:
        data = self.root / "data"
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        self.nats = EmbeddedNatsServer(free_port(), self.root / "nats")
        self.sim_host = unused_loopback_host(2587)
        ports = {f"POSTROOM_{name.upper()}_GRPC_PORT": str(free_port()) for name in SERVICES}
        ports.update(
            POSTROOM_FEEDBACK_HTTP_PORT=str(free_port()),
            POSTROOM_UNSUBSCRIBE_HTTP_PORT=str(free_port()),
            POSTROOM_SIM_WEB_PORT=str(free_port()),
            POSTROOM_SIM_SNS_HTTPS_PORT=str(free_port()),
        )
        env = dict(os.environ, **ports)
        env.update(
            POSTROOM_DATA_DIR=str(data),
            POSTROOM_NATS_URL=self.nats.url,
            POSTROOM_API_TOKEN=TEST_TOKEN,
            POSTROOM_SECRET_KEY=generate_key_spec("k1"),
            POSTROOM_UNSUBSCRIBE_KEY=generate_key_spec("u1"),
            POSTROOM_PUBLIC_URL=f"http://127.0.0.1:{ports['POSTROOM_FEEDBACK_HTTP_PORT']}",
            POSTROOM_UNSUBSCRIBE_PUBLIC_URL=f"http://127.0.0.1:{ports['POSTROOM_UNSUBSCRIBE_HTTP_PORT']}",
            POSTROOM_METRICS_PORT="0",
            POSTROOM_SHUTDOWN_GRACE="2",
            POSTROOM_SIM_HOST=self.sim_host,
            POSTROOM_SIM_NOTIFICATION_DELAY="0.1",
            **self.overrides,
        )
        env.update(simulator_environment(data, env))
        self.env = env
        self.metrics_ports = {name: free_port() for name in SERVICES}

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> "Suite":
        try:
            self.nats.start()
            self.start_process("ses-sim")
            for name in SERVICES:
                self.start_process(name)
            for name in SERVICES:
                self.wait_until_serving(name)
        except BaseException:
            self.close()  # a suite that did not come up leaves no process behind
            raise
        return self

    def start_process(self, name: str) -> None:
        command = ["ses-sim"] if name == "ses-sim" else ["serve", name]
        log = open(self.root / "logs" / f"{name}.log", "ab")
        env = dict(self.env, POSTROOM_METRICS_PORT=str(self.metrics_ports[name])) if name in SERVICES else self.env
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", *command], env=env, stdout=log, stderr=log
        )
        if name == "ses-sim":
            self._wait_for_url(f"{self.sim_url}/healthz", self.processes[name])

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def restart(self, name: str) -> None:
        self.kill(name)
        self.start_process(name)
        if name in SERVICES:
            self.wait_until_serving(name)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def close(self) -> None:
        self.stop()
        self.nats.stop()

    def wait_until_serving(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.grpc_address(name)) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited: {self.log(name)[-2000:]}")
                try:
                    if (
                        health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                        == health_pb2.HealthCheckResponse.SERVING
                    ):
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        raise TimeoutError(f"{name} did not become ready: {self.log(name)[-2000:]}")

    def _wait_for_url(self, url: str, process: subprocess.Popen, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"process exited: {url}")
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(url)

    # --- addresses and tools -----------------------------------------------------------------

    def env_settings(self) -> Settings:
        """The suite's settings as its processes read them."""
        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            return Settings.from_env()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def grpc_address(self, name: str) -> str:
        return f"127.0.0.1:{self.env[f'POSTROOM_{name.upper()}_GRPC_PORT']}"

    def channel(self, name: str) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(self.grpc_address(name))

    @property
    def sim_url(self) -> str:
        return f"http://{self.sim_host}:{self.env['POSTROOM_SIM_WEB_PORT']}"

    def metrics(self, name: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_ports[name]}/metrics", timeout=5) as answer:
            return answer.read().decode()

    def log(self, name: str) -> str:
        path = self.root / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def save_sim_provider(
        self, account: str, *extra: str, host: str = "", secrets: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        """`postroom provider save` of the simulator as the account's SES provider: its SMTP
        endpoint, its SES API and its SNS topic, as the product page's steps have it."""
        return self.cli(
            "provider",
            "save",
            "--account",
            account,
            "--name",
            "Local SES",
            "--host",
            host or self.sim_host,
            "--port",
            "2587",
            "--username",
            SIM_USERNAME,
            "--from",
            "sender@example.com",
            "--region",
            "us-east-1",
            "--ses-access-key-id",
            SIM_USERNAME,
            "--sns-topic-arn",
            SIM_TOPIC,
            *extra,
            extra_env=secrets or SIM_SECRETS,
            check=check,
        )

    def cli(
        self, *args: str, extra_env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        completed = subprocess.run(
            [sys.executable, "-m", "services.cli.main", *args],
            env=dict(self.env, **(extra_env or {})),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and completed.returncode != 0:
            raise AssertionError(f"postroom {' '.join(args)} failed: {completed.stderr}")
        return completed


def simple_email(account: str, provider_id: str, to: str) -> dispatch_pb2.SendEmailRequest:
    """A one-recipient plain-text email, as the product page's test email."""
    return dispatch_pb2.SendEmailRequest(
        account_id=account,
        provider_id=provider_id,
        subject="Hello",
        text_body="Hi",
        to=[events_pb2.EmailAddress(address=to)],
    )


async def eventually(check, timeout: float = 30, interval: float = 0.1):
    """Await `check()` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)
