"""`postroom dev` (what `make run` starts): NATS and every service, locally, until Ctrl-C.

`postroom dev --cluster` runs the suite on a 3-node JetStream cluster (R3 stream) instead of one
server, so a leader election can be watched: kill one nats-server with -9 and mail keeps flowing."""

from __future__ import annotations

import os
from contextlib import contextmanager
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli.catalog import DEV_METRICS_BASE_PORT as METRICS_BASE_PORT, SERVICE_MODULES, dev_metrics_port
from services.cli.terminal import terminal_interrupts_only_this_process
from services.core.nats_server import EmbeddedNatsServer, NatsCluster
from services.core.secret_box import generate_key_spec
from services.core.settings import Settings

SIM_USERNAME = "AKIAPOSTROOMSESSIM01"
SIM_PASSWORD = "BPostroomSesSimulatorSmtpPassword0123456789a"
SIM_TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"


def _persistent(path: Path, make) -> str:
    """Dev secrets live in .postroom/ so a restart can still open what it sealed before."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def child_environment(settings: Settings, nats_url: str, replicas: int = 1) -> dict[str, str]:
    data = settings.data_dir
    env = dict(os.environ)
    env.setdefault("POSTROOM_API_TOKEN", _persistent(data / "api-token", lambda: secrets.token_urlsafe(24)))
    env.setdefault("POSTROOM_SECRET_KEY", _persistent(data / "secret.key", generate_key_spec))
    env.setdefault("POSTROOM_UNSUBSCRIBE_KEY", _persistent(data / "unsubscribe.key", lambda: generate_key_spec("u1")))
    env["POSTROOM_NATS_URL"] = nats_url
    env["POSTROOM_DATA_DIR"] = str(data)
    env["POSTROOM_STREAM_REPLICAS"] = str(replicas)
    return env


def simulator_environment(data_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """Point the suite at `postroom ses-sim`: its CA, its SES API, its SNS host and signing certificate."""
    sim_ca = str(data_dir / "ses-sim-ca.pem")
    web_port = env.get("POSTROOM_SIM_WEB_PORT", "8025")
    sns_port = env.get("POSTROOM_SIM_SNS_HTTPS_PORT", "8443")
    region = env.get("POSTROOM_SIM_REGION", "us-east-1")
    host = env.get("POSTROOM_SIM_HOST", "127.0.0.1")
    return {
        "POSTROOM_SMTP_CA_FILE": sim_ca,
        "POSTROOM_SNS_CA_FILE": sim_ca,
        "POSTROOM_SES_ENDPOINT_URL": f"http://{host}:{web_port}",
        "POSTROOM_ALLOW_CUSTOM_SMTP_HOST": "1",
        "POSTROOM_SNS_CERT_DIR": str(data_dir / "sns-certs"),
        "POSTROOM_SNS_RESOLVE": f"sns.{region}.amazonaws.com={host}:{sns_port}",
    }


def run_dev(settings: Settings, cluster: bool = False) -> int:
    with terminal_interrupts_only_this_process():
        return _run_dev(settings, cluster)


def _run_dev(settings: Settings, cluster: bool) -> int:
    nats = _embedded_nats(settings, cluster) if not os.environ.get("POSTROOM_NATS_URL") else None
    nats_url = nats.urls if isinstance(nats, NatsCluster) else nats.url if nats else os.environ["POSTROOM_NATS_URL"]
    env = child_environment(settings, nats_url, replicas=3 if cluster else settings.stream_replicas)
    for key, value in simulator_environment(settings.data_dir, env).items():
        env.setdefault(key, value)
    children: dict[str, subprocess.Popen] = {}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        children["ses-sim"] = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "ses-sim"], env=env, stdout=subprocess.DEVNULL, process_group=0
        )
        _wait_for_simulator(env, children["ses-sim"])
        for name in SERVICE_MODULES:
            child_env = dict(env, POSTROOM_METRICS_PORT=env.get("POSTROOM_METRICS_PORT") or str(dev_metrics_port(name)))
            children[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli.main", "serve", name], env=child_env, process_group=0
            )
        _wait_until_serving(settings, {n: c for n, c in children.items() if n in SERVICE_MODULES})
        _print_endpoints(settings, nats_url, env)
        if isinstance(nats, NatsCluster):
            print(cluster_lines(nats), flush=True)
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
        with _interrupts_deferred():
            _stop(children)
            if nats:
                nats.stop()
        print("postroom: stopped", flush=True)


@contextmanager
def _interrupts_deferred():
    """A second Ctrl-C while the children stop must not leave them (and NATS) running."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _embedded_nats(settings: Settings, cluster: bool) -> EmbeddedNatsServer | NatsCluster:
    if cluster:
        return NatsCluster(settings.data_dir / "nats-cluster").start()
    server = EmbeddedNatsServer(settings.ports.nats, settings.data_dir / "nats", settings.data_dir / "nats.log")
    server.start()
    return server


def cluster_lines(cluster: NatsCluster) -> str:
    nodes = "\n".join(
        f"  {node.name}  {node.url}  pid {node.process.pid}  (monitoring "
        f"http://127.0.0.1:{node.cluster.monitor_port}/jsz)"
        for node in cluster.nodes
        if node.process and node.cluster
    )
    return (
        f"JetStream cluster of {len(cluster.nodes)} servers (R3 stream; logs and stores in "
        f"{cluster.nodes[0].store_dir.parent}/):\n{nodes}\n"
        f"  For the postroom CLI in another terminal: export POSTROOM_NATS_URL={cluster.urls}\n"
        "  See a failover: kill -9 the stream leader's pid (`postroom cluster` names it) while mail flows;\n"
        "  the stream elects a new leader in a few seconds and no email is sent twice.\n"
    )


def _wait_for_simulator(env: dict[str, str], process: subprocess.Popen, timeout: float = 30) -> None:
    url = f"{env['POSTROOM_SES_ENDPOINT_URL']}/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"postroom: ses-sim failed to start (exit {process.returncode}); are ports 2587/2465/8025/8443 free?"
            )
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("postroom: ses-sim did not become ready")


def _wait_until_serving(settings: Settings, children: dict[str, subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for name in children:
        with grpc.insecure_channel(f"127.0.0.1:{settings.ports.grpc_port(name)}") as chan:
            stub = health_pb2_grpc.HealthStub(chan)
            while True:
                if children[name].poll() is not None:
                    raise SystemExit(f"postroom: {name} failed to start (exit {children[name].returncode})")
                try:
                    if (
                        stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                        == health_pb2.HealthCheckResponse.SERVING
                    ):
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
        lines.append(
            f"  SNS endpoint           {settings.public_url}/sns/<account_id>/<provider_id>  (HTTP :{ports.feedback_http})"
        )
    if "unsubscribe" in SERVICE_MODULES:
        lines.append(
            f"  unsubscribe pages      {settings.unsubscribe_public_url}/u/<token>  (HTTP :{ports.unsubscribe_http})"
        )
    return lines


def _print_endpoints(settings: Settings, nats_url: str, env: dict[str, str]) -> None:
    endpoints = "\n".join(endpoint_lines(settings))
    sim = env["POSTROOM_SES_ENDPOINT_URL"]
    print(
        f"""
Postroom is running (Ctrl-C stops it).
  NATS JetStream         {nats_url}
{endpoints}
  metrics                http://127.0.0.1:{METRICS_BASE_PORT}..{METRICS_BASE_PORT + len(SERVICE_MODULES) - 1}/metrics
  SES stand-in           SMTP 127.0.0.1:2587 (STARTTLS), 127.0.0.1:2465 (TLS); inbox and SES API {sim}
  data, logs, dev keys   {settings.data_dir}/
  API token              {settings.data_dir / "api-token"}  (the CLI reads it)
{try_it(settings)}""",
        flush=True,
    )


def try_it(settings: Settings) -> str:
    callback = f"{settings.public_url}/sns/demo/$PROVIDER"
    return f"""
Try it (in another terminal, after `. .venv/bin/activate`):
  export POSTROOM_SMTP_PASSWORD={SIM_PASSWORD} POSTROOM_SES_SECRET_ACCESS_KEY=local-sim-secret
  PROVIDER=$(postroom provider save --account demo --name "Local SES" --host 127.0.0.1 --port 2587 \\
      --username {SIM_USERNAME} --from sender@example.com --region us-east-1 \\
      --ses-access-key-id {SIM_USERNAME} --sns-topic-arn {SIM_TOPIC} | python3 -c 'import json,sys; print(json.load(sys.stdin)["provider"]["provider_id"])')
  postroom ses-sim subscribe --endpoint {callback}
  postroom send --test --account demo --provider $PROVIDER --to success@simulator.amazonses.com
  postroom send --account demo --provider $PROVIDER --to bounce@simulator.amazonses.com --subject Hello --text Hi --wait
  postroom suppression --account demo --email bounce@simulator.amazonses.com
  postroom ses-sim inbox
"""


def _stop(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for name, child in children.items():
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            print(f"postroom: {name} did not stop within 30 s of SIGTERM; killing it", file=sys.stderr, flush=True)
            child.kill()
