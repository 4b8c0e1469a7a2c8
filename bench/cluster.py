"""Dispatch on a 3-node JetStream cluster (R3 stream): throughput beside a single node, and one SES
rate shared by three replicas while one of them is killed with -9.

1. Throughput: 5,000 emails through SendEmailBatch to the fast SMTP sink, timed to the last durable
   EmailDispatched, with one dispatch process on the cluster and then on a single nats-server, in
   the same run (`ratio` = cluster / single node: what R3 replication costs).
2. Shared rate: a provider at 50 recipients/s, three dispatch replicas, 1,500 emails; one replica
   is killed with -9 a third of the way in. Reported: the achieved rate over the allowed one while
   mail was waiting, the busiest 5-second window over 5 seconds of the allowed rate, duplicates
   at the SMTP server, and the seconds the survivors took to send at >= 85% of the rate again. The
   killed replica's emails in hand wait out their lease (8 s here) and its heartbeat (15 s) before
   a survivor may send them: the rate is judged while the others still had mail to send.

Ends with one JSON line: {"bench", "rate", "ratio", "p99_ms", "peak_rss_mb", ...}.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support.loop import run as run_on_service_loop
from bench.support.profiling import Profile
from bench.support.dispatch_pipeline import (
    FastSink,
    dispatch_process,
    peak_rss_mb,
    pipeline,
    requests,
    save_provider,
    wait_serving,
    TOKEN,
)
from services.core.event_store import EventStore
from services.core.generated.postroom.v1 import dispatch_pb2_grpc
from services.core.nats_server import EmbeddedNatsServer, NatsCluster, free_port
from services.core.secret_box import generate_key_spec
from services.core.settings import Settings
from services.ses_sim.smtp import keep_aiosmtpd_errors_only
from tests.support.certificates import LocalCertificateAuthority
from tests.support.smtp import SesLikeSmtpServer, unused_loopback_host

import grpc

EMAILS = int(os.environ.get("BENCH_EMAILS", 5_000))
RATE = 50.0
RATE_EMAILS = 1_500
WINDOW = 5.0
REPLICAS = 3
KILLED_HELD_AT_MOST = 25  # POSTROOM_DISPATCH_CONCURRENCY of the replicas in the rate run
CONNECTIONS = 8
PER_CONNECTION = 50


async def throughput(settings: Settings, root: Path, sink: FastSink) -> tuple[float, list[float], float]:
    """emails/s of one dispatch process, its queue-to-250 times, and its peak RSS."""
    grpc_port = free_port()
    dispatch = dispatch_process(settings, grpc_port, root / f"dispatch-{settings.stream_name}", sink.ca_file)
    store = await EventStore.connect(settings, name="bench")
    try:
        await wait_serving(grpc_port, dispatch)
        await save_provider(
            store, settings, sink.host, sink.port, connections=CONNECTIONS, per_connection=PER_CONNECTION
        )
        profile = Profile(f"cluster-{settings.subject_prefix}", dispatch.pid).start()
        rate, waits = await pipeline(store, grpc_port, EMAILS)
        profile.stop()
        return rate, waits, peak_rss_mb(dispatch.pid)
    finally:
        await store.close()
        dispatch.send_signal(signal.SIGTERM)
        dispatch.wait(60)


async def shared_rate(settings: Settings, root: Path) -> dict:
    """Three replicas at one 50/s provider; one killed with -9 a third of the way in."""
    ca = LocalCertificateAuthority.create(root / "rate-ca")
    host = unused_loopback_host(2587)
    sink = SesLikeSmtpServer(
        port=2587,
        tls_context=ca.server_context(host),
        implicit_tls=False,
        host=host,
        username="bench",
        password="bench",
    ).start()
    ports = [free_port() for _ in range(REPLICAS)]
    env = dict(POSTROOM_DISPATCH_ACK_WAIT="8", POSTROOM_DISPATCH_CONCURRENCY=str(KILLED_HELD_AT_MOST))
    replicas = [
        dispatch_process(settings, port, root / f"rate-{i}", str(ca.ca_file), **env) for i, port in enumerate(ports)
    ]
    store = await EventStore.connect(settings, name="bench-rate")
    try:
        for port, process in zip(ports, replicas):
            await wait_serving(port, process)
        await save_provider(store, settings, host, 2587, connections=4, per_connection=1000, rate=RATE)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{ports[0]}") as channel:
            stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
            metadata = (("authorization", f"Bearer {TOKEN}"),)
            for start in range(0, RATE_EMAILS, 1000):
                await stub.SendEmailBatch(requests(start, RATE_EMAILS), metadata=metadata)
        while len(sink.received) < RATE_EMAILS // 3:
            await asyncio.sleep(0.05)
        replicas[-1].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        deadline = time.monotonic() + 120
        while len({m.dispatch_id for m in sink.received}) < RATE_EMAILS and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # anything sent twice would arrive now
        received = list(sink.received)
    finally:
        await store.close()
        for process in replicas:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
        sink.stop()
    return rate_figures(received, killed_at)


def rate_figures(received, killed_at: float) -> dict:
    times = sorted(m.received_at for m in received)
    counts = Counter(m.dispatch_id for m in received)
    # The killed replica's emails in hand (at most its concurrency) come back only after their
    # lease and its heartbeat run out; the rate is judged while the others still had mail to send.
    drained = times[-1 - KILLED_HELD_AT_MOST] if len(times) > KILLED_HELD_AT_MOST else times[-1]
    starts = list(frange(times[0], drained - WINDOW, 0.25))
    windows = [sum(1 for t in times if start <= t < start + WINDOW) for start in starts]
    busiest = max(sum(1 for t in times if start <= t < start + WINDOW) for start in frange(times[0], times[-1], 0.25))
    takeover = next(
        (
            start - killed_at
            for start in frange(killed_at, times[-1] - 1, 0.1)
            if sum(1 for t in times if start <= t < start + 1) >= 0.85 * RATE
        ),
        float("nan"),
    )
    return {
        "achieved_over_allowed": round(statistics.mean(windows) / (WINDOW * RATE), 3),
        "slowest_5s_over_allowed": round(min(windows) / (WINDOW * RATE), 3),
        "peak_5s_over_allowed": round(busiest / (WINDOW * RATE), 3),
        "duplicates": sum(counts.values()) - len(counts),
        "emails_received": len(counts),
        "takeover_seconds": round(takeover, 2),
        "killed_replicas_mail_back_after_s": round(times[-1] - killed_at, 1),
    }


def frange(start: float, stop: float, step: float):
    while start <= stop:
        yield start
        start += step


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="postroom-bench-cluster-") as tmp:
        root = Path(tmp)
        cluster = NatsCluster(root / "cluster", log=False).start()
        single = EmbeddedNatsServer(free_port(), root / "single")
        single.start()
        sink = FastSink(root)
        base = Settings(api_token=TOKEN, secret_keys=generate_key_spec(), data_dir=root)
        on_cluster = replace(base, nats_url=cluster.urls, stream_replicas=3, stream_name="BENCHR3", subject_prefix="r3")
        on_single = replace(base, nats_url=single.url, stream_name="BENCHR1", subject_prefix="r1")
        try:
            cluster_rate, cluster_waits, cluster_rss = await throughput(on_cluster, root, sink)
            single_rate, _, _ = await throughput(on_single, root, sink)
            rates = await shared_rate(replace(on_cluster, stream_name="BENCHRATE", subject_prefix="rate"), root)
        finally:
            sink.stop()
            single.stop()
            cluster.stop()
    waits_ms = sorted(w * 1000 for w in cluster_waits)
    p99 = waits_ms[int(len(waits_ms) * 0.99) - 1]
    print(
        f"throughput, one dispatch process: {cluster_rate:,.0f} emails/s on the 3-node cluster (R3), "
        f"{single_rate:,.0f}/s on a single node: ratio {cluster_rate / single_rate:.2f}; "
        f"queue-to-250 p99 on the cluster {p99:,.0f} ms; dispatch peak RSS {cluster_rss:.0f} MB"
    )
    print(
        f"shared rate ({REPLICAS} replicas, one killed with -9, {RATE:g}/s allowed): achieved/allowed while mail "
        f"waited {rates['achieved_over_allowed']} (slowest 5 s window {rates['slowest_5s_over_allowed']}), "
        f"peak 5 s/allowed {rates['peak_5s_over_allowed']}, duplicates at the SMTP server {rates['duplicates']}, "
        f"survivors at >= 85% of the rate {rates['takeover_seconds']} s after the kill; the killed replica's "
        f"emails in hand went out {rates['killed_replicas_mail_back_after_s']} s after it (lease + heartbeat)"
    )
    print(
        json.dumps(
            {
                "bench": "cluster",
                "rate": round(cluster_rate, 1),
                "ratio": round(cluster_rate / single_rate, 3),
                "p99_ms": round(p99, 1),
                "peak_rss_mb": round(cluster_rss, 1),
                "single_node_rate": round(single_rate, 1),
                "emails": EMAILS,
                **rates,
            }
        )
    )


if __name__ == "__main__":
    keep_aiosmtpd_errors_only()
    run_on_service_loop(main())
