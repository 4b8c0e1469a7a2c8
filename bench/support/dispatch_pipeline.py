"""The dispatch pipeline as the benchmarks drive it: a fast SMTP sink in its own process, dispatch
processes, a provider, and timing a batch of emails to their last durable EmailDispatched."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js import api as js_api

from bench.support.loop import run as run_on_service_loop
from services.core.event_store import EventStore
from services.core.events import Event, new_event
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.nats_server import free_port
from services.core.secret_box import SecretBox, provider_secret_aad
from services.core.settings import Settings
from tests.support.certificates import LocalCertificateAuthority

REPO = Path(__file__).resolve().parents[2]
TOKEN = "bench-token"
BATCH = 1000
BODY = "Hello from the Postroom dispatch benchmark.\n" * 20


# ---- the sink: its own process ----


async def serve_sink(
    host: str, port: int, cert: str, key: str, on_message: Callable[[str], None] | None = None
) -> None:
    """The SMTP server; `on_message(dispatch id)` is called as each message's final dot arrives."""
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
                    data = await reader.readuntil(b"\r\n.\r\n")  # whole, not line by line: 1 MB attachments
                    if on_message:
                        header = data.partition(b"X-Postroom-Dispatch-Id:")[2].partition(b"\r\n")[0]
                        on_message(header.strip().decode())
                    writer.write(
                        b"250 Ok 0100bench%012d-%s-000000\r\n" % (next(counter), uuid.uuid4().hex[:8].encode())
                    )
                elif verb == b"QUIT":
                    writer.write(b"221 Bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"250 Ok\r\n")
                await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(session, host, port, backlog=256, limit=64 * 1024 * 1024)
    async with server:
        await server.serve_forever()


class FastSink:
    """`serve_sink` in a process of its own, so it is never the bottleneck."""

    def __init__(self, root: Path) -> None:
        self.ca = LocalCertificateAuthority.create(root / "ca")
        self.host, self.port = "127.0.0.1", free_port()
        self.ca.server_context(self.host)
        stem = root / "ca" / self.host  # where server_context writes the pair
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.support.dispatch_pipeline",
                "--sink",
                self.host,
                str(self.port),
                str(stem.with_suffix(".crt")),
                str(stem.with_suffix(".key")),
            ],
            cwd=REPO,
        )
        wait_listening(self.host, self.port)

    @property
    def ca_file(self) -> str:
        return str(self.ca.ca_file)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


# ---- the pipeline: real dispatch processes ----


def dispatch_process(
    settings: Settings, grpc_port: int, data_dir: Path, ca_file: str, **extra: str
) -> subprocess.Popen:
    env = dict(
        os.environ,
        POSTROOM_NATS_URL=settings.nats_url,
        POSTROOM_STREAM=settings.stream_name,
        POSTROOM_SUBJECT_PREFIX=settings.subject_prefix,
        POSTROOM_DATA_DIR=str(data_dir),
        POSTROOM_API_TOKEN=TOKEN,
        POSTROOM_SECRET_KEY=settings.secret_keys,
        POSTROOM_STREAM_REPLICAS=str(settings.stream_replicas),
        POSTROOM_DISPATCH_GRPC_PORT=str(grpc_port),
        POSTROOM_SMTP_CA_FILE=ca_file,
        POSTROOM_LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        **extra,
    )
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


async def save_provider(
    store: EventStore,
    settings: Settings,
    host: str,
    port: int,
    *,
    connections: int,
    per_connection: int,
    rate: float = 1_000_000.0,
) -> None:
    sealed = SecretBox.from_spec(settings.secret_keys).seal(
        "bench", provider_secret_aad("acme", "bench", "smtp_password")
    )
    saved = events_pb2.ProviderSaved(
        provider_id="bench",
        name="bench",
        type="SES",
        smtp_host=host,
        smtp_port=port,
        smtp_username="bench",
        smtp_password_sealed=sealed,
        from_address="bench@example.com",
        max_send_rate=rate,
        max_connections=connections,
        max_message_bytes=10 * 1024 * 1024,
        max_messages_per_connection=per_connection,
    )
    await store.append(new_event(saved, account_id="acme", aggregate_type="provider", aggregate_id="bench"))


def requests(start: int, emails: int) -> dispatch_pb2.SendEmailBatchRequest:
    return dispatch_pb2.SendEmailBatchRequest(
        messages=[
            dispatch_pb2.SendEmailRequest(
                account_id="acme",
                provider_id="bench",
                subject=f"Benchmark message {i}",
                to=[events_pb2.EmailAddress(address=f"user{i}@example.org")],
                text_body=BODY,
                transactional=True,
            )
            for i in range(start, min(start + BATCH, emails))
        ]
    )


async def pipeline(store: EventStore, grpc_port: int, emails: int) -> tuple[float, list[float]]:
    """emails/s from the first SendEmailBatch to the last durable EmailDispatched, and each email's
    queue-to-250 time (EmailQueued to EmailDispatched)."""
    first_seq = await store.last_sequence()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        metadata = (("authorization", f"Bearer {TOKEN}"),)
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(stub.SendEmailBatch(requests(start, emails), metadata=metadata) for start in range(0, emails, BATCH))
        )
        refused = [(r.error_code, r.error_message) for answer in answers for r in answer.results if r.error_code]
        assert not refused, f"{len(refused)} emails refused, e.g. {refused[:3]}"
        target = first_seq + 2 * emails
        while await store.last_sequence() < target:
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
    return emails / elapsed, await latencies(store, first_seq + 1, target)


CONTENT_HTML = ("<p>" + "A newsletter paragraph with some words in it. " * 2200 + "</p>")[: 100 * 1024]
CONTENT_ATTACHMENT_MB = float(os.environ.get("BENCH_CONTENT_ATTACHMENT_MB", 1))  # past ~3 MB: no longer cached
CONTENT_ATTACHMENT = os.urandom(int(CONTENT_ATTACHMENT_MB * 1024 * 1024))


async def stream_bytes(store: EventStore) -> int:
    return (await store.js.stream_info(store.stream)).state.bytes


async def content_pipeline(store: EventStore, grpc_port: int, emails: int) -> float:
    """emails/s for `emails` emails that each carry a 100 KB HTML body and a 1 MB attachment, both
    uploaded once with UploadContent and named by reference, to their last durable EmailDispatched."""
    first_seq = await store.last_sequence()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        metadata = (("authorization", f"Bearer {TOKEN}"),)
        started = time.perf_counter()
        html, attachment = [
            (await stub.UploadContent(_chunks(content), metadata=metadata)).content_ref
            for content in (CONTENT_HTML.encode(), CONTENT_ATTACHMENT)
        ]
        for start in range(0, emails, BATCH):
            answer = await stub.SendEmailBatch(
                dispatch_pb2.SendEmailBatchRequest(
                    messages=[
                        dispatch_pb2.SendEmailRequest(
                            account_id="acme",
                            provider_id="bench",
                            subject=f"Newsletter {i}",
                            html_body_ref=html,
                            to=[events_pb2.EmailAddress(address=f"reader{i}@example.org")],
                            transactional=True,
                            attachments=[
                                dispatch_pb2.Attachment(
                                    filename="catalogue.pdf", media_type="application/pdf", content_ref=attachment
                                )
                            ],
                        )
                        for i in range(start, min(start + BATCH, emails))
                    ]
                ),
                metadata=metadata,
            )
            assert all(r.error_code == 0 for r in answer.results), answer.results[0]
        target = first_seq + 2 * emails
        while await store.last_sequence() < target:
            await asyncio.sleep(0.02)
        return emails / (time.perf_counter() - started)


async def _chunks(content: bytes):
    for start in range(0, len(content), 1024 * 1024):
        yield dispatch_pb2.UploadContentRequest(account_id="acme", chunk=content[start : start + 1024 * 1024])


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

    subscription = await store.js.subscribe(
        f"{store.prefix}.dispatch.>",
        stream=store.stream,
        cb=read,
        ordered_consumer=True,
        deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE,
        config=js_api.ConsumerConfig(opt_start_seq=first),
    )
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
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--sink":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        run_on_service_loop(serve_sink(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]))
