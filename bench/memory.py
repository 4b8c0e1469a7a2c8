"""Resident memory of each service at idle, as `make run` starts them, and after the product page's steps.

The whole suite runs as separate processes wired as `make run` wires them (tests/e2e/suite.py:
real nats-server, the SES stand-in, SQLite read models). Each service is read from
/proc/<pid>/smaps_rollup twice: idle after start, and idle again after the product page's steps
(a provider saved and verified, its SNS topic subscribed, a test email, a bounce and its
suppression), when what a first request loads is loaded. Baseline, in the same run: the floor of
the stack every service stands on, a bare process on the same event loop serving gRPC health,
holding a JetStream connection and a SQLAlchemy engine on a SQLite file (each service's read
model), loaded as the services load them, and nothing else.

RSS counts the shared libraries' pages a process touched (more on a machine whose page cache
holds them, as the kernel maps pages around each one touched); `anon` is the process's own heap
and stacks, the part the code decides.
Ends with one JSON line: {"bench", "rate", "ratio", "p99_ms", "peak_rss_mb", ...}; `peak_rss_mb`
is the largest idle RSS of a service, `ratio` the floor's RSS over it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.support.loop import run as run_on_service_loop
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.nats_server import free_port
from services.core.settings import SERVICES
from tests.e2e.suite import AUTH, Suite, eventually

TARGET_IDLE_MB = 80
SETTLE_SECONDS = float(os.environ.get("BENCH_SETTLE_SECONDS", 5))
ACCOUNT = "bench-memory"


@dataclass(frozen=True)
class Resident:
    rss_mb: float
    pss_mb: float
    anon_mb: float
    threads: int

    @classmethod
    def of(cls, pid: int) -> "Resident":
        rollup = _kilobytes(Path(f"/proc/{pid}/smaps_rollup").read_text())
        threads = next(
            int(line.split()[1])
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("Threads:")
        )
        return cls(rollup["Rss"] / 1024, rollup["Pss"] / 1024, rollup["Anonymous"] / 1024, threads)


def _kilobytes(text: str) -> dict[str, int]:
    fields = {}
    for line in text.splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value)
    return fields


def residents(suite: Suite) -> dict[str, Resident]:
    return {name: Resident.of(suite.processes[name].pid) for name in SERVICES}


async def product_page_steps(suite: Suite) -> None:
    saved = json.loads(suite.save_sim_provider(ACCOUNT).stdout)["provider"]
    suite.cli("ses-sim", "--url", suite.sim_url, "subscribe", "--endpoint", saved["callback_url"])
    async with suite.channel("dispatch") as channel:
        dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel)
        test = await dispatch.SendTestEmail(
            dispatch_pb2.SendTestEmailRequest(
                account_id=ACCOUNT, provider_id=saved["provider_id"], to="success@simulator.amazonses.com"
            ),
            metadata=AUTH,
        )
        assert test.delivered, test
        address = "bounce@simulator.amazonses.com"
        await dispatch.SendEmail(
            dispatch_pb2.SendEmailRequest(
                account_id=ACCOUNT,
                provider_id=saved["provider_id"],
                to=[events_pb2.EmailAddress(address=address)],
                subject="Memory bench",
                text_body="A bounce, for its suppression.",
            ),
            metadata=AUTH,
        )
        await eventually(lambda: _suppressed(dispatch, address), timeout=60)


async def _suppressed(dispatch, address: str) -> bool:
    answer = await dispatch.GetRecipientSuppression(
        dispatch_pb2.GetRecipientSuppressionRequest(account_id=ACCOUNT, email=address), metadata=AUTH
    )
    return answer.suppressed


def floor_process(nats_url: str, root: Path) -> tuple[subprocess.Popen, int]:
    """bench/support/floor.py, a process of its own that imports nothing this bench imports."""
    port = free_port()
    database = f"sqlite+aiosqlite:///{root / 'floor.db'}"
    command = [sys.executable, str(REPO / "bench" / "support" / "floor.py"), nats_url, str(port), database]
    return subprocess.Popen(command, cwd=REPO), port


def table(title: str, figures: dict[str, Resident]) -> str:
    lines = [title, f"  {'process':<12}{'RSS MB':>8}{'PSS MB':>8}{'anon MB':>9}{'threads':>9}"]
    for name, figure in figures.items():
        lines.append(f"  {name:<12}{figure.rss_mb:8.1f}{figure.pss_mb:8.1f}{figure.anon_mb:9.1f}{figure.threads:9d}")
    return "\n".join(lines)


async def measure() -> dict:
    with tempfile.TemporaryDirectory(prefix="postroom-memory-") as root:
        suite = Suite(Path(root))
        suite.start()
        floor, floor_port = floor_process(suite.nats.url, Path(root))
        try:
            await asyncio.sleep(SETTLE_SECONDS)
            started = residents(suite)
            floor_figure = Resident.of(floor.pid)
            await product_page_steps(suite)
            await asyncio.sleep(SETTLE_SECONDS)
            used = residents(suite)
        finally:
            floor.terminate()
            floor.wait()
            suite.close()
    print(table("idle after start", {**started, "floor": floor_figure}))
    print(table("idle after the product page's steps", used))
    peak = max(figure.rss_mb for figure in [*started.values(), *used.values()])
    return {
        "bench": "memory",
        "rate": None,
        "ratio": round(floor_figure.rss_mb / peak, 3),
        "p99_ms": None,
        "peak_rss_mb": round(peak, 1),
        "target_idle_mb": TARGET_IDLE_MB,
        "floor": {key: round(value, 1) for key, value in asdict(floor_figure).items()},
        "idle": {name: round(figure.rss_mb, 1) for name, figure in started.items()},
        "idle_anon": {name: round(figure.anon_mb, 1) for name, figure in started.items()},
        "after_steps": {name: round(figure.rss_mb, 1) for name, figure in used.items()},
        "after_steps_anon": {name: round(figure.anon_mb, 1) for name, figure in used.items()},
    }


if __name__ == "__main__":
    print(json.dumps(run_on_service_loop(measure())))
