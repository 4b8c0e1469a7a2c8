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

And the floor (`log_floor`, once, after the pipeline): the `sendmail` loop plus what the event
log needs of each email and nothing else, on a stream of its own (`bench/README.md`, "Throughput
floors"). No pipeline keeping the contract on this log can beat it, so `floor_ratio_to_bytes` is
the ceiling of `ratio_to_bytes`, and `ratio_to_floor` is how far the pipeline is from it.

The sink is a minimal asyncio SMTP server (STARTTLS, AUTH PLAIN, `250 Ok <id>`) in its own process,
so it is not the bottleneck.

Beside it, in the same run, the content store's figures: `content_emails` emails that each carry a
100 KB HTML body and a 1 MB attachment (`BENCH_CONTENT_ATTACHMENT_MB`; uploaded once, named by
reference) to as many recipients,
with their emails/s, the bytes appended to the stream per email (today's plain emails' figure
beside it) and the bytes the content store holds. Ends with one JSON line:
{"bench", "rate", "ratio", "p99_ms", "peak_rss_mb", ...}.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email import policy
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiosmtplib
from nats.js import api as js_api

from bench.support.loop import run as run_on_service_loop
from bench.support.profiling import Profile
from bench.support.dispatch_pipeline import (
    BODY,
    CONTENT_ATTACHMENT,
    CONTENT_ATTACHMENT_MB,
    CONTENT_HTML,
    FastSink,
    content_pipeline,
    cpu_seconds,
    dispatch_process,
    peak_rss_mb,
    pipeline,
    save_provider,
    stream_bytes,
    wait_serving,
)
from services.core import tracing
from services.core.content_store import ContentStore
from services.core.event_store import EventStore, PendingAppend
from services.core.events import new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.nats_server import EmbeddedNatsServer, free_port
from services.core.secret_box import generate_key_spec
from services.core.settings import Settings
from services.core.tls import client_context

EMAILS = int(os.environ.get("BENCH_EMAILS", 10_000))
CONTENT_EMAILS = int(os.environ.get("BENCH_CONTENT_EMAILS", 1_000))
CONNECTIONS = 8
PER_CONNECTION = 50  # ProviderSaved's default max_messages_per_connection
TARGET_RATIO = 0.6  # of send_message: the secondary figure
TARGET_RATIO_TO_BYTES = 0.5  # of sendmail of prepared bytes: the bar (issue 16)


# ---- the baseline: a bare aiosmtplib loop ----


def sample_message(index: int) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = "Bench <bench@example.com>"
    message["To"] = f"user{index}@example.org"
    message["Subject"] = f"Benchmark message {index}"
    message["Message-ID"] = f"<{uuid.uuid4()}@example.com>"
    message.set_content(BODY)
    return message


async def logged_in(host: str, port: int, context) -> aiosmtplib.SMTP:
    """An SMTP connection to the sink, through STARTTLS and AUTH, as every loop here opens one."""
    client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=True, tls_context=context)
    await client.connect()
    await client.login("bench", "bench")
    return client


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
            client = await logged_in(host, port, context)
            for index in batch:
                await send(client, index)
            await client.quit()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    rate = EMAILS / (time.perf_counter() - started)
    kind = "sendmail of bytes" if serialised else "send_message"
    print(
        f"raw aiosmtplib ({kind}), {CONNECTIONS} connections: {rate:,.0f} messages/s, "
        f"client CPU {(time.process_time() - cpu) / EMAILS * 1e6:.0f} µs per message"
    )
    return rate


async def raw_large_messages(host: str, port: int, ca_file: str, data: bytes, count: int) -> float:
    """The content run's baseline: a bare aiosmtplib `sendmail` of a message as large as the content
    run's (made once, before the clock starts), as many times, over as many connections."""
    context = client_context(ca_file)
    remaining = iter(range(count))

    async def connection() -> None:
        client = await logged_in(host, port, context)
        for _ in itertools.islice(remaining, PER_CONNECTION * 1000):
            await client.sendmail("bench@example.com", ["reader@example.org"], data)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    rate = count / (time.perf_counter() - started)
    print(
        f"raw aiosmtplib (sendmail of a {len(data) / 1e6:.1f} MB message), {CONNECTIONS} connections: "
        f"{rate:,.1f} messages/s"
    )
    return rate


def large_message() -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    message["From"], message["To"], message["Subject"] = "Bench <bench@example.com>", "reader@example.org", "News"
    message.set_content(CONTENT_HTML, subtype="html")
    message.add_attachment(CONTENT_ATTACHMENT, maintype="application", subtype="pdf", filename="catalogue.pdf")
    return message.as_bytes()


# ---- the floor: the bare SMTP loop plus the event log's own work per email ----

FLOOR_BATCH = 1_000  # emails per acceptance append, as the pipeline's SendEmailBatch calls carry
FLOOR_ACK_WAIT_SECONDS = 300.0  # no redelivery within a run: each email is sent and counted once


class FloorFailed(Exception):
    """The floor did less than it claims (an append refused or lost): its figure would mean nothing."""


async def until_set(event: asyncio.Event, tasks: list[asyncio.Task]) -> None:
    """Wait for `event`; a task that fails first ends the wait with its error, not a hang."""
    waiter = asyncio.create_task(event.wait())
    pending = {waiter, *tasks}
    while not event.is_set():
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception() is not None:
                waiter.cancel()
                raise task.exception()


async def log_floor(settings: Settings, host: str, port: int, ca_file: str) -> float:
    """`sendmail` of prepared bytes on the same connections, with what the log needs of each email
    and nothing else: its queued event appended (a thousand at a time), one pull delivery to a
    worker, its outcome appended on the same subject with the queued event's sequence expected (at
    most one outcome), that delivery acked once the outcome is durable, and the outcome's own
    delivery acked as it arrives (the consumer takes every event on the subject, as the pipeline's
    does; like the pipeline's, most of those come after the last outcome, when the clock has
    stopped). No gRPC, MIME, read model, rate, retry or projection: no pipeline keeping the
    contract on this log does less per email. Every append is checked, and the stream must hold
    both events of every email at the end."""
    store = await EventStore.connect(
        dataclasses.replace(settings, stream_name="FLOOR", subject_prefix="floor"), name="bench-floor"
    )
    payloads = [sample_message(i).as_bytes() for i in range(EMAILS)]
    context = client_context(ca_file)
    deliveries: asyncio.Queue = asyncio.Queue()
    sent, finished = [0], asyncio.Event()
    subscription = await store.js.pull_subscribe(
        "floor.dispatch.>",
        durable="floor-workers",
        stream="FLOOR",
        config=js_api.ConsumerConfig(ack_wait=FLOOR_ACK_WAIT_SECONDS),
    )

    def queued(index: int) -> PendingAppend:
        payload = events_pb2.EmailQueued(dispatch_id=f"floor-{index}", provider_id="floor")
        payload.to.add(address=f"user{index}@example.org")
        event = new_event(payload, account_id="bench", aggregate_type="dispatch", aggregate_id=payload.dispatch_id)
        return PendingAppend(event)

    async def accept() -> None:
        for first in range(0, EMAILS, FLOOR_BATCH):
            batch = [queued(index) for index in range(first, min(first + FLOOR_BATCH, EMAILS))]
            for outcome in await store.append_many_durably(batch, patience=10.0):
                if isinstance(outcome, Exception):
                    raise FloorFailed(f"an append of the floor failed: {outcome!r}")

    async def pull() -> None:
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):  # nats-py raises its own and asyncio's
                for msg in await subscription.fetch(4 * CONNECTIONS, timeout=1.0):
                    deliveries.put_nowait(msg)

    async def send_and_record(client: aiosmtplib.SMTP, msg, queued: events_pb2.EmailQueued) -> None:
        index = int(queued.dispatch_id.removeprefix("floor-"))
        await client.sendmail("bench@example.com", [f"user{index}@example.org"], payloads[index])
        outcome = new_event(
            events_pb2.EmailDispatched(dispatch_id=queued.dispatch_id, provider_id="floor"),
            account_id="bench",
            aggregate_type="dispatch",
            aggregate_id=queued.dispatch_id,
        )
        await store.append_durably(outcome, msg.metadata.sequence.stream, patience=10.0)  # raises if refused
        await msg.ack()
        sent[0] += 1
        if sent[0] == EMAILS:
            finished.set()

    async def next_email(client: aiosmtplib.SMTP) -> bool:
        """Send the next queued email; False once the run is over."""
        while (msg := await deliveries.get()) is not None:
            event = events_pb2.Event.FromString(msg.data)
            if event.WhichOneof("payload") == "email_queued":
                await send_and_record(client, msg, event.email_queued)
                return True
            await msg.ack()  # an outcome's own delivery
        return False

    async def floor_connection() -> None:
        sending = True
        while sending:
            client = await logged_in(host, port, context)
            for _ in range(PER_CONNECTION):
                if not (sending := await next_email(client)):
                    break
            await client.quit()

    started, cpu = time.perf_counter(), time.process_time()
    workers = [asyncio.create_task(work()) for work in (accept, pull, *[floor_connection] * CONNECTIONS)]
    await until_set(finished, workers)
    rate = EMAILS / (time.perf_counter() - started)
    cpu_us = (time.process_time() - cpu) / EMAILS * 1e6
    for _ in range(CONNECTIONS):
        deliveries.put_nowait(None)  # behind the outcomes' deliveries still queued
    await asyncio.gather(*workers)
    if (events := await store.last_sequence()) != 2 * EMAILS:
        raise FloorFailed(f"the floor's stream holds {events} events, not {2 * EMAILS}")
    await store.close()
    print(
        f"floor (sendmail of bytes and the log's work), {CONNECTIONS} connections: {rate:,.0f} emails/s, CPU {cpu_us:.0f} µs per email"
    )
    return rate


# What one email calls of the tracing module with no endpoint set: the consumer's and the SMTP
# send's spans, the outcome's append span (the batch's gRPC and append spans are shared by a
# thousand emails), and the trace context read for each of its two events.
SPANS_PER_EMAIL, TRACE_PARENTS_PER_EMAIL = 3, 2


def tracing_off_us_per_email(calls: int = 200_000) -> float:
    """CPU per email that tracing costs with POSTROOM_OTLP_ENDPOINT unset (measured here, in the bench)."""
    assert not tracing.enabled()
    started = time.process_time()
    for _ in range(calls):
        with tracing.span("bench", parent="", kind="CONSUMER"):
            pass
    per_span = (time.process_time() - started) / calls
    started = time.process_time()
    for _ in range(calls):
        tracing.current_trace_parent()
    per_read = (time.process_time() - started) / calls
    return (SPANS_PER_EMAIL * per_span + TRACE_PARENTS_PER_EMAIL * per_read) * 1e6


async def baselines(host: str, port: int, ca_file: str) -> tuple[float, float]:
    return (
        await raw_client(host, port, ca_file, serialised=False),
        await raw_client(host, port, ca_file, serialised=True),
    )


async def main() -> None:
    if CONTENT_EMAILS < 2:
        raise SystemExit("BENCH_CONTENT_EMAILS must be 2 or more: the content run's baseline sends half as many")
    with tempfile.TemporaryDirectory(prefix="postroom-bench-") as tmp:
        root = Path(tmp)
        sink = FastSink(root)
        host, smtp_port, ca_file = sink.host, sink.port, sink.ca_file
        nats = EmbeddedNatsServer(free_port(), root / "nats")
        nats.start()
        settings = Settings(
            nats_url=nats.url,
            stream_name="BENCH",
            subject_prefix="bench",
            data_dir=root,
            secret_keys=generate_key_spec(),
        )
        grpc_port = free_port()
        dispatch = dispatch_process(settings, grpc_port, root / "dispatch", ca_file)
        store = await EventStore.connect(settings, name="bench")
        try:
            await wait_serving(grpc_port, dispatch)
            await save_provider(
                store, settings, host, smtp_port, connections=CONNECTIONS, per_connection=PER_CONNECTION
            )
            # Baselines before and after the pipeline, averaged: load that comes or goes on the
            # machine during the run does not tilt the ratio one way.
            before = await baselines(host, smtp_port, ca_file)
            cpu, appended = cpu_seconds(dispatch.pid), await stream_bytes(store)
            profile = Profile("dispatch", dispatch.pid).start()
            rate, waits = await pipeline(store, grpc_port, EMAILS)
            profile.stop()
            cpu_per_email_us = (cpu_seconds(dispatch.pid) - cpu) / EMAILS * 1e6
            tracing_us = tracing_off_us_per_email()
            print(
                f"dispatch process CPU: {cpu_per_email_us:.0f} µs per email, of which tracing with no endpoint "
                f"set: {tracing_us:.2f} µs ({100 * tracing_us / cpu_per_email_us:.2f}%)"
            )
            per_email = (await stream_bytes(store) - appended) / EMAILS
            after = await baselines(host, smtp_port, ca_file)
            floor_rate = await log_floor(settings, host, smtp_port, ca_file)
            raw_rate, raw_bytes_rate = statistics.mean((before[0], after[0])), statistics.mean((before[1], after[1]))
            rss = peak_rss_mb(dispatch.pid)
            appended = await stream_bytes(store)
            content_rate = await content_pipeline(store, grpc_port, CONTENT_EMAILS)
            content_per_email = (await stream_bytes(store) - appended) / CONTENT_EMAILS
            content_rss = peak_rss_mb(dispatch.pid)
            held = await ContentStore.beside(store, patience=10.0).held_bytes()
            raw_content_rate = await raw_large_messages(host, smtp_port, ca_file, large_message(), CONTENT_EMAILS // 2)
        finally:
            await store.close()
            dispatch.send_signal(signal.SIGTERM)
            dispatch.wait(60)
            sink.stop()
            nats.stop()
    waits_ms = sorted(w * 1000 for w in waits)
    p50, p99 = statistics.median(waits_ms), waits_ms[int(len(waits_ms) * 0.99) - 1]
    print(
        f"dispatch pipeline: {rate:,.0f} emails/s, queue-to-250 p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
        f"dispatch peak RSS {rss:.0f} MB, {len(waits)} dispatched"
    )
    print(
        f"ratio {rate / raw_rate:.3f} (target >= {TARGET_RATIO}); "
        f"SMTP alone: {rate / raw_bytes_rate:.3f} (target >= {TARGET_RATIO_TO_BYTES})"
    )
    print(
        f"floor: {floor_rate / raw_bytes_rate:.3f} of sendmail of bytes; the pipeline is at "
        f"{rate / floor_rate:.3f} of the floor"
    )
    print(
        f"stream bytes per email: {per_email:,.0f} (plain emails), {content_per_email:,.0f} (100 KB HTML + "
        f"{CONTENT_ATTACHMENT_MB:g} MB attachment, {CONTENT_EMAILS} emails at {content_rate:,.1f}/s, {content_rate / raw_content_rate:.2f} of bare "
        f"aiosmtplib's {raw_content_rate:,.1f}/s, dispatch peak RSS {content_rss:.0f} MB); the content store holds "
        f"{held:,} bytes"
    )
    print(
        json.dumps(
            {
                "bench": "dispatch",
                "rate": round(rate, 1),
                "ratio": round(rate / raw_rate, 3),
                "ratio_to_bytes": round(rate / raw_bytes_rate, 3),
                "raw_bytes_rate": round(raw_bytes_rate, 1),
                "p50_ms": round(p50, 1),
                "p99_ms": round(p99, 1),
                "peak_rss_mb": round(rss, 1),
                "raw_rate": round(raw_rate, 1),
                "floor_rate": round(floor_rate, 1),
                "floor_ratio_to_bytes": round(floor_rate / raw_bytes_rate, 3),
                "ratio_to_floor": round(rate / floor_rate, 3),
                "emails": EMAILS,
                "connections": CONNECTIONS,
                "target_ratio": TARGET_RATIO,
                "target_ratio_to_bytes": TARGET_RATIO_TO_BYTES,
                "stream_bytes_per_email": round(per_email),
                "content_emails": CONTENT_EMAILS,
                "content_attachment_mb": CONTENT_ATTACHMENT_MB,
                "content_rate": round(content_rate, 1),
                "content_stream_bytes_per_email": round(content_per_email),
                "content_store_bytes": held,
                "raw_content_rate": round(raw_content_rate, 1),
                "content_ratio": round(content_rate / raw_content_rate, 3),
                "cpu_us_per_email": round(cpu_per_email_us),
                "tracing_off_us_per_email": round(tracing_us, 2),
                "content_peak_rss_mb": round(content_rss, 1),
            }
        )
    )


if __name__ == "__main__":
    run_on_service_loop(main())
