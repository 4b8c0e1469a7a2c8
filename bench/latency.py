"""One at a time: an email from the `SendEmail` call until the message is at the SMTP server, and
an SNS notification from its POST to the feedback endpoint's 200 (the event durable).

A dispatch process (its own process, SQLite read model, real nats-server) sends through an SMTP
server in this process, which notes when each message's final dot arrives; the client waits for
that before it sends the next email. Baseline, in the same run, to the same server: a bare
aiosmtplib connection, logged in before the clock starts, sending bytes made in advance one at a
time (the SMTP exchange alone, which a pooled dispatch connection also needs). For SNS, the
baseline is a bare aiohttp endpoint in its own process that reads the body and answers 200
(bench/feedback.py's), posted the same bodies the same way.

Ends with one JSON line: {"bench", "rate", "ratio", "p99_ms", "peak_rss_mb", ...}; `ratio` is the
baseline's p50 over Postroom's. BENCH_EMAILS changes the count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp
import aiosmtplib
import grpc

from bench.support.loop import run as run_on_service_loop
import bench.feedback as sns_bench

from bench.support.profiling import Profile
from bench.support.dispatch_pipeline import (
    TOKEN,
    dispatch_process,
    peak_rss_mb,
    save_provider,
    serve_sink,
    wait_serving,
)
from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.nats_server import EmbeddedNatsServer, free_port
from services.core.secret_box import generate_key_spec
from services.core.settings import Settings
from services.core.tls import client_context
from services.core.settings import Ports
from tests.support.certificates import LocalCertificateAuthority
from tests.support.sns_signing import SnsSigningAuthority, SnsSigningIdentity

EMAILS = int(os.environ.get("BENCH_EMAILS", 500))
WARM_UP = 50
TARGET_P50_MS, TARGET_P99_MS = 5.0, 20.0


class Arrivals:
    """When each message (by its X-Postroom-Dispatch-Id) reached the SMTP server."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future] = {}

    def arrived(self, dispatch_id: str) -> None:
        self.at[dispatch_id] = time.perf_counter()
        if (waiter := self.waiting.pop(dispatch_id, None)) is not None:
            waiter.set_result(None)

    async def of(self, dispatch_id: str) -> float:
        if dispatch_id not in self.at:
            self.waiting[dispatch_id] = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(self.waiting[dispatch_id], 30)
        return self.at.pop(dispatch_id)


async def postroom_latencies(grpc_port: int, arrivals: Arrivals, count: int) -> tuple[list[float], list[float]]:
    """Per email: from the call to the message at the SMTP server, and from the call to its answer."""
    waits, answers = [], []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        metadata = (("authorization", f"Bearer {TOKEN}"),)
        for index in range(count):
            started = time.perf_counter()
            answer = await stub.SendEmail(
                dispatch_pb2.SendEmailRequest(
                    account_id="acme",
                    provider_id="bench",
                    to=[events_pb2.EmailAddress(address=f"user{index}@example.org")],
                    subject=f"Latency {index}",
                    text_body="Hello, one at a time.\n",
                    transactional=True,
                ),
                metadata=metadata,
            )
            answers.append(time.perf_counter() - started)
            waits.append(await arrivals.of(answer.dispatch_id) - started)
    return waits, answers


async def bare_smtp_latencies(host: str, port: int, ca_file: str, arrivals: Arrivals, count: int) -> list[float]:
    messages = [
        (
            f"X-Postroom-Dispatch-Id: bare-{i}\r\nFrom: bench@example.com\r\nTo: user{i}@example.org\r\n"
            f"Subject: Latency {i}\r\n\r\nHello, one at a time.\r\n"
        ).encode()
        for i in range(count)
    ]
    client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=True, tls_context=client_context(ca_file))
    await client.connect()
    await client.login("bench", "bench")
    waits = []
    for index, message in enumerate(messages):
        started = time.perf_counter()
        await client.sendmail("bench@example.com", [f"user{index}@example.org"], message)
        waits.append(await arrivals.of(f"bare-{index}") - started)
    await client.quit()
    return waits


async def sns_latencies(url: str, bodies: list[tuple[bytes, dict[str, str]]]) -> list[float]:
    waits = []
    async with aiohttp.ClientSession() as session:
        for body, headers in bodies:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                assert response.status == 200, f"SNS POST answered {response.status}"
            waits.append(time.perf_counter() - started)
    return waits


def sns_run(root: Path, nats_url: str) -> tuple[list[float], list[float], float]:
    """Each POST's time to its 200 at the feedback service, at the bare endpoint (before and
    after), and the service's peak RSS."""
    identity = SnsSigningIdentity.issued_by(SnsSigningAuthority.create())
    pinned = root / "sns-certs"
    pinned.mkdir()
    identity.pin_in(pinned)
    settings = Settings(
        nats_url=nats_url,
        data_dir=root / "feedback",
        sns_cert_dir=str(pinned),
        api_token="bench",
        stream_name="BENCHSNS",
        subject_prefix="benchsns",
        ports=Ports(feedback_http=free_port(), feedback_grpc=free_port()),
        shutdown_grace=1.0,
    )
    sns_bench._SIGNER = identity
    bodies = sns_bench.signed_bodies(0, EMAILS + WARM_UP)
    run_on_service_loop(_add_sns_provider(settings))
    path = f"/sns/{sns_bench.ACCOUNT}/{sns_bench.PROVIDER}"
    before = _bare_sns_latencies(path, bodies[WARM_UP:])
    service = sns_bench.ServerProcess(sns_bench.serve_feedback, settings)
    url = f"http://127.0.0.1:{service.start()}{path}"
    run_on_service_loop(sns_latencies(url, bodies[:WARM_UP]))
    measured = run_on_service_loop(sns_latencies(url, bodies[WARM_UP:]))
    rss = service.stop()
    after = _bare_sns_latencies(path, bodies[WARM_UP:])
    return measured, before + after, rss


def _bare_sns_latencies(path: str, bodies: list[tuple[bytes, dict[str, str]]]) -> list[float]:
    server = sns_bench.ServerProcess(sns_bench.serve_bare, free_port())
    url = f"http://127.0.0.1:{server.start()}{path}"
    try:
        return run_on_service_loop(sns_latencies(url, bodies))
    finally:
        server.stop()


async def _add_sns_provider(settings: Settings) -> None:
    store = await EventStore.connect(settings, name="bench-setup")
    try:
        await store.append(
            sns_bench.provider_saved(
                sns_bench.ACCOUNT, sns_bench.PROVIDER, sns_topic_arns=[sns_bench.DEFAULT_TOPIC_ARN]
            )
        )
    finally:
        await store.close()


def percentiles(waits: list[float]) -> tuple[float, float, float]:
    ordered = sorted(w * 1000 for w in waits)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9)], ordered[int(len(ordered) * 0.99)]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="postroom-bench-") as tmp:
        root = Path(tmp)
        nats = EmbeddedNatsServer(free_port(), root / "nats")
        nats.start()
        try:
            email = run_on_service_loop(email_run(root, nats.url))
            sns = sns_run(root, nats.url)
        finally:
            nats.stop()
    report(*email, *sns)


async def email_run(root: Path, nats_url: str) -> tuple[list[float], list[float], list[float], float, float]:
    """Each email's time to the SMTP server and to SendEmail's answer, the bare exchanges (before
    and after), the rate one at a time, and the dispatch process's peak RSS."""
    ca = LocalCertificateAuthority.create(root / "ca")
    host, smtp_port = "127.0.0.1", free_port()
    ca.server_context(host)
    stem = root / "ca" / host
    arrivals = Arrivals()
    sink = asyncio.create_task(
        serve_sink(
            host, smtp_port, str(stem.with_suffix(".crt")), str(stem.with_suffix(".key")), on_message=arrivals.arrived
        )
    )
    settings = Settings(
        nats_url=nats_url, stream_name="BENCH", subject_prefix="bench", data_dir=root, secret_keys=generate_key_spec()
    )
    grpc_port = free_port()
    dispatch = dispatch_process(settings, grpc_port, root / "dispatch", str(ca.ca_file))
    store = await EventStore.connect(settings, name="bench")
    try:
        await wait_serving(grpc_port, dispatch)
        await save_provider(store, settings, host, smtp_port, connections=2, per_connection=100_000)
        before = await bare_smtp_latencies(host, smtp_port, str(ca.ca_file), arrivals, EMAILS)
        await postroom_latencies(grpc_port, arrivals, WARM_UP)  # pooled connections, caches
        started, profile = time.perf_counter(), Profile("latency-dispatch", dispatch.pid).start()
        waits, answers = await postroom_latencies(grpc_port, arrivals, EMAILS)
        rate = EMAILS / (time.perf_counter() - started)
        profile.stop()
        after = await bare_smtp_latencies(host, smtp_port, str(ca.ca_file), arrivals, EMAILS)
        rss = peak_rss_mb(dispatch.pid)
    finally:
        await store.close()
        dispatch.send_signal(signal.SIGTERM)
        dispatch.wait(60)
        await asyncio.sleep(0.2)  # the sink's sessions see the dispatch's connections close
        sink.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sink
    return waits, answers, before + after, rate, rss


def report(
    waits: list[float],
    answers: list[float],
    bare: list[float],
    rate: float,
    rss: float,
    sns: list[float],
    sns_bare: list[float],
    sns_rss: float,
) -> None:
    p50, p90, p99 = percentiles(waits)
    bare_p50, bare_p90, bare_p99 = percentiles(bare)
    sns_p50, _, sns_p99 = percentiles(sns)
    sns_bare_p50, _, sns_bare_p99 = percentiles(sns_bare)
    answer_p50, _, answer_p99 = percentiles(answers)
    print(f"bare SMTP exchange, one at a time: p50 {bare_p50:.2f} ms, p90 {bare_p90:.2f} ms, p99 {bare_p99:.2f} ms")
    print(
        f"SendEmail to the message at the SMTP server: p50 {p50:.2f} ms, p90 {p90:.2f} ms, p99 {p99:.2f} ms "
        f"(target p50 <= {TARGET_P50_MS} ms, p99 <= {TARGET_P99_MS} ms); {rate:,.0f} emails/s one at a time"
    )
    print(f"of which SendEmail's answer (EmailQueued durable): p50 {answer_p50:.2f} ms, p99 {answer_p99:.2f} ms")
    print(
        f"SNS POST to its 200: p50 {sns_p50:.2f} ms, p99 {sns_p99:.2f} ms (feedback peak RSS {sns_rss:.0f} MB); "
        f"bare aiohttp endpoint: p50 {sns_bare_p50:.2f} ms, p99 {sns_bare_p99:.2f} ms"
    )
    print(
        json.dumps(
            {
                "bench": "latency",
                "rate": round(rate, 1),
                "ratio": round(bare_p50 / p50, 3),
                "p50_ms": round(p50, 2),
                "p90_ms": round(p90, 2),
                "p99_ms": round(p99, 2),
                "answer_p50_ms": round(answer_p50, 2),
                "baseline_p50_ms": round(bare_p50, 2),
                "baseline_p99_ms": round(bare_p99, 2),
                "peak_rss_mb": round(rss, 1),
                "emails": EMAILS,
                "sns_p50_ms": round(sns_p50, 2),
                "sns_p99_ms": round(sns_p99, 2),
                "sns_baseline_p50_ms": round(sns_bare_p50, 2),
                "sns_baseline_p99_ms": round(sns_bare_p99, 2),
                "sns_peak_rss_mb": round(sns_rss, 1),
                "target_p50_ms": TARGET_P50_MS,
                "target_p99_ms": TARGET_P99_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
