"""Dispatch throughput: 10,000 emails through SendEmailBatch to a local SMTP sink, until the last
EmailDispatched is durable.

Baselines, in the same run (before and after the pipeline, averaged), to the same sink with the
same number of connections and the same messages per connection:

* `raw_rate` (the ratio's denominator): a bare aiosmtplib loop that, like the pipeline, makes each
  message as it sends it: an `EmailMessage` with the SMTP policy (the form the issue specifies),
  sent the way aiosmtplib's documentation sends one, `send_message`. On this 2-core machine it does
  800-900 messages/s: the client the issue calibrates at "about 1,000 messages/s".
* `raw_bytes_rate` (reported as `ratio_to_bytes`, the stricter figure): the same loop with every
  message serialised to bytes before the clock starts, through `sendmail`: the SMTP exchange alone.

(Not used: 10,000 `EmailMessage` objects built before the clock starts. Kept alive all at once,
they make the cyclic garbage collector's full passes dominate, and the rate swings between 1,300
and 2,200/s from one run to the next.)

The sink is a minimal asyncio SMTP server (STARTTLS, AUTH PLAIN, `250 Ok <id>`) in its own process,
so it is not the bottleneck. Ends with one JSON line:
{"bench", "rate", "ratio", "p99_ms", "peak_rss_mb", ...}.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email import policy
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiosmtplib  # noqa: E402
import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from nats.js import api as js_api  # noqa: E402

from services.core.event_store import EventStore  # noqa: E402
from services.core.events import Event, new_event  # noqa: E402
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2  # noqa: E402
from services.core.nats_server import EmbeddedNatsServer, free_port  # noqa: E402
from services.core.secret_box import SecretBox, generate_key_spec, provider_secret_aad  # noqa: E402
from services.core.settings import Settings  # noqa: E402
from services.core.tls import client_context  # noqa: E402
from tests.support.certificates import LocalCertificateAuthority  # noqa: E402

EMAILS = int(os.environ.get("BENCH_EMAILS", 10_000))
CONNECTIONS = 8
PER_CONNECTION = 50            # ProviderSaved's default max_messages_per_connection
BATCH = 1000
TOKEN = "bench-token"
BODY = "Hello from the Postroom dispatch benchmark.\n" * 20
TARGET_RATIO = 0.6


# ---- the sink: its own process ----

async def _serve_sink(host: str, port: int, cert: str, key: str) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    counter = itertools.count()

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        secure = False
        writer.write(b"220 email-smtp.bench ESMTP SimpleEmailService\r\n")
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    offer = b"250-AUTH PLAIN LOGIN\r\n" if secure else b"250-STARTTLS\r\n"
                    writer.write(b"250-email-smtp.bench\r\n250-8BITMIME\r\n250-PIPELINING\r\n" + offer + b"250 Ok\r\n")
                elif verb == b"STAR":
                    # Stop reading first: a ClientHello read into the plain-text buffer is lost to TLS.
                    writer.transport.pause_reading()
                    writer.write(b"220 Ready to start TLS\r\n")
                    await writer.drain()
                    await writer.start_tls(context)
                    secure = True
                    continue
                elif verb == b"AUTH":
                    writer.write(b"235 Authentication successful.\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    await writer.drain()
                    while (await reader.readline()) not in (b".\r\n", b""):
                        pass
                    writer.write(b"250 Ok 0100bench%012d-%s-000000\r\n" % (next(counter), uuid.uuid4().hex[:8].encode()))
                elif verb == b"QUIT":
                    writer.write(b"221 Bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"250 Ok\r\n")
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(session, host, port, backlog=256)
    async with server:
        await server.serve_forever()


# ---- the baseline: a bare aiosmtplib loop ----

def sample_message(index: int) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = "Bench <bench@example.com>"
    message["To"] = f"user{index}@example.org"
    message["Subject"] = f"Benchmark message {index}"
    message["Message-ID"] = f"<{uuid.uuid4()}@example.com>"
    message.set_content(BODY)
    return message


async def raw_client(host: str, port: int, ca_file: str, *, serialised: bool) -> float:
    """A bare aiosmtplib loop: each message made and sent with `send_message`, or `sendmail` of
    bytes made before the clock starts."""
    payloads = [sample_message(i).as_bytes() for i in range(EMAILS)] if serialised else []
    next_index = iter(range(EMAILS))
    context = client_context(ca_file)

    async def send(client: aiosmtplib.SMTP, index: int) -> None:
        if serialised:
            await client.sendmail("bench@example.com", [f"user{index}@example.org"], payloads[index])
        else:
            await client.send_message(sample_message(index))

    async def connection() -> None:
        while True:
            batch = list(itertools.islice(next_index, PER_CONNECTION))
            if not batch:
                return
            client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=True, tls_context=context)
            await client.connect()
            await client.login("bench", "bench")
            for index in batch:
                await send(client, index)
            await client.quit()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    rate = EMAILS / (time.perf_counter() - started)
    kind = "sendmail of bytes" if serialised else "send_message"
    print(f"raw aiosmtplib ({kind}), {CONNECTIONS} connections: {rate:,.0f} messages/s, "
          f"client CPU {(time.process_time() - cpu) / EMAILS * 1e6:.0f} µs per message")
    return rate


async def baselines(host: str, port: int, ca_file: str) -> tuple[float, float]:
    return (await raw_client(host, port, ca_file, serialised=False),
            await raw_client(host, port, ca_file, serialised=True))


# ---- the pipeline: a real dispatch process ----

def dispatch_process(settings: Settings, grpc_port: int, data_dir: Path, ca_file: str) -> subprocess.Popen:
    env = dict(os.environ, POSTROOM_NATS_URL=settings.nats_url, POSTROOM_STREAM=settings.stream_name,
               POSTROOM_SUBJECT_PREFIX=settings.subject_prefix, POSTROOM_DATA_DIR=str(data_dir),
               POSTROOM_API_TOKEN=TOKEN, POSTROOM_SECRET_KEY=settings.secret_keys,
               POSTROOM_DISPATCH_GRPC_PORT=str(grpc_port), POSTROOM_SMTP_CA_FILE=ca_file,
               POSTROOM_LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
    return subprocess.Popen([sys.executable, "-m", "services.cli.main", "serve", "dispatch"], env=env, cwd=REPO)


async def wait_serving(port: int, process: subprocess.Popen) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit("dispatch exited during start-up")
            try:
                if (await health.Check(health_pb2.HealthCheckRequest(), timeout=1)).status == 1:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("dispatch did not become ready")


async def save_provider(store: EventStore, settings: Settings, host: str, port: int) -> None:
    sealed = SecretBox.from_spec(settings.secret_keys).seal("bench", provider_secret_aad("acme", "bench", "smtp_password"))
    saved = events_pb2.ProviderSaved(
        provider_id="bench", name="bench", type="SES", smtp_host=host, smtp_port=port, smtp_username="bench",
        smtp_password_sealed=sealed, from_address="bench@example.com", max_send_rate=1_000_000.0,
        max_connections=CONNECTIONS, max_message_bytes=10 * 1024 * 1024, max_messages_per_connection=PER_CONNECTION)
    await store.append(new_event(saved, account_id="acme", aggregate_type="provider", aggregate_id="bench"))


def requests(start: int) -> dispatch_pb2.SendEmailBatchRequest:
    return dispatch_pb2.SendEmailBatchRequest(messages=[
        dispatch_pb2.SendEmailRequest(account_id="acme", provider_id="bench", subject=f"Benchmark message {i}",
                                      to=[events_pb2.EmailAddress(address=f"user{i}@example.org")], text_body=BODY,
                                      transactional=True)
        for i in range(start, min(start + BATCH, EMAILS))])


async def pipeline(store: EventStore, grpc_port: int) -> tuple[float, list[float]]:
    first_seq = await store.last_sequence()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        metadata = (("authorization", f"Bearer {TOKEN}"),)
        started = time.perf_counter()
        answers = await asyncio.gather(*(stub.SendEmailBatch(requests(start), metadata=metadata)
                                         for start in range(0, EMAILS, BATCH)))
        assert all(r.error_code == 0 for answer in answers for r in answer.results)
        target = first_seq + 2 * EMAILS
        while await store.last_sequence() < target:
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
    return EMAILS / elapsed, await latencies(store, first_seq + 1, target)


async def latencies(store: EventStore, first: int, last: int) -> list[float]:
    queued: dict[str, float] = {}
    waits: list[float] = []
    done = asyncio.Event()

    async def read(msg) -> None:
        event = Event.FromString(msg.data)
        moment = event.occurred_at.ToNanoseconds() / 1e9
        if event.type == "EmailQueued":
            queued[event.aggregate_id] = moment
        elif event.type == "EmailDispatched":
            waits.append(moment - queued[event.aggregate_id])
        if msg.metadata.sequence.stream >= last:
            done.set()

    subscription = await store.js.subscribe(f"{store.prefix}.dispatch.>", stream=store.stream, cb=read,
                                            ordered_consumer=True, deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE,
                                            config=js_api.ConsumerConfig(opt_start_seq=first))
    await asyncio.wait_for(done.wait(), 60)
    await subscription.unsubscribe()
    return waits


def wait_listening(host: str, port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the SMTP sink did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="postroom-bench-") as tmp:
        root = Path(tmp)
        ca = LocalCertificateAuthority.create(root / "ca")
        host, smtp_port = "127.0.0.1", free_port()
        ca.server_context(host)
        stem = root / "ca" / host                 # where server_context writes the pair
        cert, key = stem.with_suffix(".crt"), stem.with_suffix(".key")
        sink = subprocess.Popen([sys.executable, __file__, "--sink", host, str(smtp_port), str(cert), str(key)])
        wait_listening(host, smtp_port)
        nats = EmbeddedNatsServer(free_port(), root / "nats")
        nats.start()
        settings = Settings(nats_url=nats.url, stream_name="BENCH", subject_prefix="bench", data_dir=root,
                            secret_keys=generate_key_spec())
        grpc_port = free_port()
        dispatch = dispatch_process(settings, grpc_port, root / "dispatch", str(ca.ca_file))
        store = await EventStore.connect(settings, name="bench")
        try:
            await wait_serving(grpc_port, dispatch)
            await save_provider(store, settings, host, smtp_port)
            # Baselines before and after the pipeline, averaged: load that comes or goes on the
            # machine during the run does not tilt the ratio one way.
            before = await baselines(host, smtp_port, str(ca.ca_file))
            cpu = cpu_seconds(dispatch.pid)
            rate, waits = await pipeline(store, grpc_port)
            print(f"dispatch process CPU: {(cpu_seconds(dispatch.pid) - cpu) / EMAILS * 1e6:.0f} µs per email")
            after = await baselines(host, smtp_port, str(ca.ca_file))
            raw_rate, raw_bytes_rate = statistics.mean((before[0], after[0])), statistics.mean((before[1], after[1]))
            rss = peak_rss_mb(dispatch.pid)
        finally:
            await store.close()
            for process in (dispatch, sink):
                process.send_signal(signal.SIGTERM)
                process.wait(60)
            nats.stop()
    waits_ms = sorted(w * 1000 for w in waits)
    p50, p99 = statistics.median(waits_ms), waits_ms[int(len(waits_ms) * 0.99) - 1]
    print(f"dispatch pipeline: {rate:,.0f} emails/s, queue-to-250 p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
          f"dispatch peak RSS {rss:.0f} MB, {len(waits)} dispatched")
    print(f"ratio {rate / raw_rate:.3f} (target >= {TARGET_RATIO}); SMTP alone: {rate / raw_bytes_rate:.3f}")
    print(json.dumps({"bench": "dispatch", "rate": round(rate, 1), "ratio": round(rate / raw_rate, 3),
                      "ratio_to_bytes": round(rate / raw_bytes_rate, 3), "raw_bytes_rate": round(raw_bytes_rate, 1),
                      "p50_ms": round(p50, 1), "p99_ms": round(p99, 1), "peak_rss_mb": round(rss, 1),
                      "raw_rate": round(raw_rate, 1), "emails": EMAILS, "connections": CONNECTIONS,
                      "target_ratio": TARGET_RATIO}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--sink":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        asyncio.run(_serve_sink(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]))
    else:
        asyncio.run(main())
