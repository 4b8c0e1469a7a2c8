"""`postroom dev` (what `make run` starts): NATS and every service, locally, until Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli.catalog import SERVICE_MODULES
from services.core.nats_server import EmbeddedNatsServer
from services.core.secret_box import generate_key_spec
from services.core.settings import Settings

METRICS_BASE_PORT = 9101


def _persistent(path: Path, make) -> str:
    """Dev secrets live in .postroom/ so a restart can still open what it sealed before."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def child_environment(settings: Settings, nats_url: str) -> dict[str, str]:
    data = settings.data_dir
    env = dict(os.environ)
    env.setdefault("POSTROOM_API_TOKEN", _persistent(data / "api-token", lambda: secrets.token_urlsafe(24)))
    env.setdefault("POSTROOM_SECRET_KEY", _persistent(data / "secret.key", generate_key_spec))
    env.setdefault("POSTROOM_UNSUBSCRIBE_KEY", _persistent(data / "unsubscribe.key", lambda: generate_key_spec("u1")))
    env["POSTROOM_NATS_URL"] = nats_url
    env["POSTROOM_DATA_DIR"] = str(data)
    return env


def run_dev(settings: Settings) -> int:
    nats = None
    nats_url = os.environ.get("POSTROOM_NATS_URL", "")
    if not nats_url:
        nats = EmbeddedNatsServer(settings.ports.nats, settings.data_dir / "nats", settings.data_dir / "nats.log")
        nats.start()
        nats_url = nats.url
    env = child_environment(settings, nats_url)
    children: dict[str, subprocess.Popen] = {}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        for index, name in enumerate(SERVICE_MODULES):
            child_env = dict(env, POSTROOM_METRICS_PORT=env.get("POSTROOM_METRICS_PORT") or str(METRICS_BASE_PORT + index))
            children[name] = subprocess.Popen([sys.executable, "-m", "services.cli.main", "serve", name], env=child_env)
        _wait_until_serving(settings, children)
        _print_endpoints(settings, nats_url)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"postroom: {name} exited with {child.returncode}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(children)
        if nats:
            nats.stop()
        print("postroom: stopped")


def _wait_until_serving(settings: Settings, children: dict[str, subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for name in children:
        with grpc.insecure_channel(f"127.0.0.1:{settings.ports.grpc_port(name)}") as chan:
            stub = health_pb2_grpc.HealthStub(chan)
            while True:
                if children[name].poll() is not None:
                    raise SystemExit(f"postroom: {name} failed to start (exit {children[name].returncode})")
                try:
                    if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"postroom: {name} did not become ready within {timeout}s")
                time.sleep(0.2)


def endpoint_lines(settings: Settings) -> list[str]:
    ports = settings.ports
    lines = [f"  {name:<12}gRPC       127.0.0.1:{ports.grpc_port(name)}" for name in SERVICE_MODULES]
    if "feedback" in SERVICE_MODULES:
        lines.append(f"  SNS endpoint           {settings.public_url}/sns/<account_id>/<provider_id>  (HTTP :{ports.feedback_http})")
    if "unsubscribe" in SERVICE_MODULES:
        lines.append(f"  unsubscribe pages      {settings.unsubscribe_public_url}/u/<token>  (HTTP :{ports.unsubscribe_http})")
    return lines


def _print_endpoints(settings: Settings, nats_url: str) -> None:
    endpoints = "\n".join(endpoint_lines(settings))
    print(f"""
Postroom is running (Ctrl-C stops it).
  NATS JetStream         {nats_url}
{endpoints}
  metrics                http://127.0.0.1:{METRICS_BASE_PORT}..{METRICS_BASE_PORT + len(SERVICE_MODULES) - 1}/metrics
  data, logs, dev keys   {settings.data_dir}/
  API token              {settings.data_dir / 'api-token'}  (the CLI reads it)

Try it:
  postroom provider save --account acme --name "Amazon SES" --host email-smtp.us-east-1.amazonaws.com \\
      --port 587 --username <SES SMTP username> --from you@example.com
  postroom provider list --account acme
""", flush=True)


def _stop(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
