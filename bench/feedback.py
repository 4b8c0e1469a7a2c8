"""SNS endpoint throughput: 20,000 signed SES bounce notifications over 32 concurrent connections.

The feedback service runs in its own process (pinned certificate, SQLite read model, real
nats-server); a 200 means the BounceReceived event is durable in JetStream, so the run is timed
until the last answer. Baseline, in the same run and with the same load generator and bodies:
a bare aiohttp endpoint in its own process that reads the body and answers 200.

Beside them, the floor: the same bare endpoint doing the heart of this endpoint's contract (parse
the SNS envelope strictly, verify its signature with the key cached, parse the SES notification
into its event, and answer once that event is durable in JetStream) and less than the rest of it:
no read model, so no check of the URL's provider, the topic or a MessageId already recorded, no
projection, metrics or tracing. Doing less than the contract, its ratio to the bare endpoint is a
ceiling: as high as any endpoint keeping the contract can go on this machine, loop and libraries.
Ends with one JSON line: {"bench", "rate", "ratio", "p99_ms", "peak_rss_mb", ...}.
BENCH_NOTIFICATIONS changes the count; BENCH_PROFILE=DIR records a py-spy profile of the
service while it is measured (bench/support/profiling.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web

from bench.support.loop import run as run_on_service_loop
from bench.support.profiling import Profile
from services.core.event_store import EventStore
from services.core.nats_server import EmbeddedNatsServer, free_port
from services.core.settings import Ports, Settings
from services.feedback import domain
from services.feedback.application import feedback_appends
from services.feedback.ses_feedback import parse_ses_feedback
from services.feedback.sns_message import parse_sns_message
from services.feedback.sns_verifier import PinnedCertificateDirectory, SnsSignatureVerifier
from tests.support import ses_feedback_messages as ses
from tests.support.events import provider_saved
from tests.support.sns_signing import (
    DEFAULT_TOPIC_ARN,
    SnsSigningAuthority,
    SnsSigningIdentity,
    http_body,
    http_headers,
    notification,
)

NOTIFICATIONS = int(os.environ.get("BENCH_NOTIFICATIONS", 20_000))
CONNECTIONS = 32
ACCOUNT = "bench"
PROVIDER = str(uuid.uuid4())
TARGET_RATIO = 0.5  # of the bare aiohttp endpoint (issue 16)


@dataclass(frozen=True)
class LoadResult:
    rate: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]


# ---- the two servers, each in its own process ----


def serve_feedback(settings: Settings, ready: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    from services.core.runtime import start_service
    from services.feedback.main import build

    async def run() -> None:
        service = await start_service("feedback", settings, build)
        await service.components.projections[0].caught_up.wait()
        ready.put(service.components.http[0].port)
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        await service.stop()

    run_on_service_loop(run())
    ready.put(peak_rss_mb())


async def serve_until_stopped(answer, port: int, ready: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    """A bare aiohttp endpoint on the SNS route, answering with `answer` until `stop` is set."""
    app = web.Application(client_max_size=256 * 1024)
    app.router.add_post("/sns/{account_id}/{provider_id}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    ready.put(port)
    await asyncio.get_running_loop().run_in_executor(None, stop.wait)
    await runner.cleanup()


def serve_bare(port: int, ready: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok\n")

    run_on_service_loop(serve_until_stopped(answer, port, ready, stop))
    ready.put(peak_rss_mb())


def serve_floor(settings: Settings, ready: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    async def run() -> None:
        store = await EventStore.connect(settings, name="bench-floor")
        verifier = SnsSignatureVerifier(PinnedCertificateDirectory(settings.sns_cert_dir))
        answer = functools.partial(floor_answer, store, verifier)
        await serve_until_stopped(answer, settings.ports.feedback_http, ready, stop)
        await store.close()

    run_on_service_loop(run())
    ready.put(peak_rss_mb())


async def floor_answer(store: EventStore, verifier: SnsSignatureVerifier, request: web.Request) -> web.Response:
    """The contract's own work on one delivery, and nothing else (the module's docstring)."""
    message = parse_sns_message(await request.read(), request.headers)
    await verifier.verify(message)
    items = parse_ses_feedback(message.message)
    events = domain.feedback_events(
        items, provider_id=request.match_info["provider_id"], sns_message_id=message.message_id, dispatch_id_of={}.get
    )
    outcomes = await store.append_many_durably(feedback_appends(ACCOUNT, events), patience=10.0)
    if any(isinstance(outcome, Exception) for outcome in outcomes):
        return web.Response(status=503, text="not durable\n")
    return web.Response(text="ok\n")


def peak_rss_mb() -> float:
    # VmHWM rather than ru_maxrss: Linux carries ru_maxrss across exec, so a spawned server would
    # report the parent's peak (which holds every signed body).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ServerProcess:
    def __init__(self, target, *args) -> None:
        context = multiprocessing.get_context("spawn")
        self.ready = context.Queue()
        self.stop_event = context.Event()
        self.process = context.Process(target=target, args=(*args, self.ready, self.stop_event), daemon=True)

    def start(self) -> int:
        self.process.start()
        return self.ready.get(timeout=60)

    def stop(self) -> float:
        self.stop_event.set()
        rss = self.ready.get(timeout=60)
        self.process.join(30)
        return rss


# ---- the load ----

_SIGNER: SnsSigningIdentity | None = None  # inherited by the forked signing workers (keys do not pickle)


def signed_bodies(start: int, count: int) -> list[tuple[bytes, dict[str, str]]]:
    identity = _SIGNER
    assert identity is not None
    bodies = []
    for n in range(start, start + count):
        message = notification(ses.bounce([f"user{n}@example.com"], dispatch_id=f"dispatch-{n}"))
        signed = identity.sign(message, "2")
        bodies.append((http_body(signed), http_headers(signed)))
    return bodies


def sign_all(identity: SnsSigningIdentity) -> list[tuple[bytes, dict[str, str]]]:
    global _SIGNER
    _SIGNER = identity
    workers = os.cpu_count() or 1
    share = -(-NOTIFICATIONS // workers)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.starmap(
            signed_bodies, [(start, min(share, NOTIFICATIONS - start)) for start in range(0, NOTIFICATIONS, share)]
        )
    return [body for part in parts for body in part]


async def post_all(url: str, bodies: list[tuple[bytes, dict[str, str]]]) -> LoadResult:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending = iter(bodies)
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)

    async def connection(session: aiohttp.ClientSession) -> None:
        for body, headers in pending:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(connection(session) for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    return LoadResult(len(bodies) / elapsed, quantiles[49] * 1000, quantiles[98] * 1000, statuses)


async def recorded_events(settings: Settings) -> int:
    store = await EventStore.connect(settings, name="bench-check")
    try:
        return await store.last_sequence() - 1  # less the ProviderSaved
    finally:
        await store.close()


async def add_provider(settings: Settings) -> None:
    store = await EventStore.connect(settings, name="bench-setup")
    try:
        await store.append(provider_saved(ACCOUNT, PROVIDER, sns_topic_arns=[DEFAULT_TOPIC_ARN]))
    finally:
        await store.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        nats = EmbeddedNatsServer(free_port(), workdir / "nats")
        nats.start()
        try:
            report(run(workdir, nats.url))
        finally:
            nats.stop()


def run(workdir: Path, nats_url: str) -> dict:
    identity = SnsSigningIdentity.issued_by(SnsSigningAuthority.create())
    pinned = workdir / "sns-certs"
    pinned.mkdir()
    identity.pin_in(pinned)
    settings = Settings(
        nats_url=nats_url,
        data_dir=workdir / "data",
        sns_cert_dir=str(pinned),
        api_token="bench",
        ports=Ports(feedback_http=free_port(), feedback_grpc=free_port()),
        shutdown_grace=1.0,
    )
    started = time.perf_counter()
    bodies = sign_all(identity)
    print(f"signed {len(bodies)} notifications in {time.perf_counter() - started:.1f}s", flush=True)
    run_on_service_loop(add_provider(settings))
    path = f"/sns/{ACCOUNT}/{PROVIDER}"

    # The baseline runs before and after the service and the two are averaged, so a neighbour's
    # load that comes or goes during the run does not skew the ratio one way.
    before, bare_rss = run_bare(path, bodies)
    service = ServerProcess(serve_feedback, settings)
    service_port = service.start()
    profile = Profile("feedback", service.process.pid).start()
    measured = run_on_service_loop(post_all(f"http://127.0.0.1:{service_port}{path}", bodies))
    profile.stop()
    service_rss = service.stop()
    events = run_on_service_loop(recorded_events(settings))
    floor = run_floor(settings, path, bodies)
    after, _ = run_bare(path, bodies)
    baseline = LoadResult(
        (before.rate + after.rate) / 2,
        (before.p50_ms + after.p50_ms) / 2,
        (before.p99_ms + after.p99_ms) / 2,
        before.statuses,
    )

    print(
        f"bare aiohttp endpoint: {baseline.rate:,.0f} requests/s (before {before.rate:,.0f}, after "
        f"{after.rate:,.0f}), p50 {baseline.p50_ms:.1f} ms, p99 {baseline.p99_ms:.1f} ms, peak RSS {bare_rss:.0f} MB"
    )
    print(
        f"feedback endpoint:     {measured.rate:,.0f} notifications/s, p50 {measured.p50_ms:.1f} ms, "
        f"p99 {measured.p99_ms:.1f} ms, peak RSS {service_rss:.0f} MB, statuses {measured.statuses}, "
        f"{events} events durable"
    )
    print(
        f"floor endpoint:        {floor.rate:,.0f} notifications/s ({floor.rate / baseline.rate:.3f} of bare), "
        f"p50 {floor.p50_ms:.1f} ms, statuses {floor.statuses}"
    )
    if measured.statuses != {200: NOTIFICATIONS} or events != NOTIFICATIONS or floor.statuses != {200: NOTIFICATIONS}:
        raise SystemExit(f"expected {NOTIFICATIONS} answers of 200 and as many events")
    return {
        "bench": "feedback",
        "rate": round(measured.rate, 1),
        "ratio": round(measured.rate / baseline.rate, 3),
        "p50_ms": round(measured.p50_ms, 2),
        "p99_ms": round(measured.p99_ms, 2),
        "peak_rss_mb": round(service_rss, 1),
        "baseline_rate": round(baseline.rate, 1),
        "floor_rate": round(floor.rate, 1),
        "floor_ratio": round(floor.rate / baseline.rate, 3),
        "notifications": NOTIFICATIONS,
        "connections": CONNECTIONS,
        "target_ratio": TARGET_RATIO,
    }


def run_floor(settings: Settings, path: str, bodies: list[tuple[bytes, dict[str, str]]]) -> LoadResult:
    """The floor on a stream of its own: the service's events there would make its appends duplicates."""
    own = dataclasses.replace(
        settings, stream_name="FLOOR", subject_prefix="floor", ports=Ports(feedback_http=free_port())
    )
    result, _ = load(ServerProcess(serve_floor, own), path, bodies)
    return result


def run_bare(path: str, bodies: list[tuple[bytes, dict[str, str]]]) -> tuple[LoadResult, float]:
    return load(ServerProcess(serve_bare, free_port()), path, bodies)


def load(server: ServerProcess, path: str, bodies: list[tuple[bytes, dict[str, str]]]) -> tuple[LoadResult, float]:
    """Start `server`, post every body to it, stop it: the load's result and the server's peak RSS."""
    port = server.start()
    result = run_on_service_loop(post_all(f"http://127.0.0.1:{port}{path}", bodies))
    return result, server.stop()


def report(result: dict) -> None:
    print(f"ratio {result['ratio']:.3f} (target >= {TARGET_RATIO})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
