"""`postroom status`: the suite on one screen (providers against SES's lines, projection lag, the
stream), from the NATS stream and each service's /metrics; `--json` for scripts."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from services.cli import status_report
from services.cli.catalog import SERVICE_MODULES, dev_metrics_port
from services.cli.client import event_store
from services.cli.status_report import Samples, StatusReport, StreamStatus
from services.core.event_store import EventStore
from services.core.settings import Settings
from services.dispatch.events import PROVIDER_HEALTH

SCRAPE_TIMEOUT = 2.0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("status", help="providers, projections and the NATS stream on one screen")
    parser.add_argument("--json", action="store_true", help="one JSON document, for scripts")
    parser.add_argument("--sample", type=float, default=1.0, help="seconds between two scrapes, for sends/s")
    parser.add_argument("--account", help=argparse.SUPPRESS)  # the old `status --account A --email E`
    parser.add_argument("--email", help=argparse.SUPPRESS)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    if args.account or args.email:
        return _old_unsubscribe_status(args, settings)
    report = asyncio.run(collect(settings, max(0.0, args.sample)))
    print(json.dumps(report.as_json(), indent=2) if args.json else status_report.render(report))
    return 0


def _old_unsubscribe_status(args: argparse.Namespace, settings: Settings) -> int:
    from services.cli import unsubscribe

    print(
        "postroom: `postroom status --account A --email E` is now `postroom unsubscribe status --account A "
        "--email E`; this form goes away in the next release",
        file=sys.stderr,
    )
    if not (args.account and args.email):
        raise SystemExit("postroom status: give both --account and --email (or neither, for the suite's status)")
    return unsubscribe.handle(
        argparse.Namespace(account=args.account, email=args.email, list_id="", unsubscribe_command="status"), settings
    )


def metrics_url(service: str) -> str:
    return os.environ.get(
        f"POSTROOM_{service.upper()}_METRICS_URL", f"http://127.0.0.1:{dev_metrics_port(service)}/metrics"
    )


async def collect(settings: Settings, sample_seconds: float) -> StatusReport:
    store = await event_store(settings, "postroom-status")
    try:
        stream = await _stream(store)
        first = await _scrape_all()
        started = time.monotonic()
        await asyncio.sleep(sample_seconds)
        second = await _scrape_all()
        seconds = time.monotonic() - started
        scrapes = {name: samples for name, samples in second.items() if samples is not None}
        dispatch_after = second.get("dispatch")
        paused = [
            labels.get("provider_id", "")
            for labels, value in (dispatch_after or {}).get("postroom_provider_paused", [])
            if value > 0
        ]
        report = StatusReport(
            stream=stream,
            providers=status_report.providers(
                first.get("dispatch"),
                dispatch_after,
                second.get("feedback"),
                seconds,
                await _paused_reasons(store, paused),
            ),
            projection_lag=status_report.projection_lag(scrapes),
            queue_pending=status_report.single(dispatch_after, "postroom_dispatch_queue_pending"),
            queue_ack_pending=status_report.single(dispatch_after, "postroom_dispatch_queue_ack_pending"),
            unreachable={name: metrics_url(name) for name, samples in second.items() if samples is None},
        )
    finally:
        await store.close()
    return report


async def _stream(store: EventStore) -> StreamStatus:
    info = await store.js.stream_info(store.stream)
    cluster = info.cluster
    peers = list(cluster.replicas or []) if cluster else []
    leader = (cluster.leader or "") if cluster else ""
    return StreamStatus(
        name=info.config.name or store.stream,
        messages=info.state.messages,
        bytes=info.state.bytes,
        leader=leader,
        replicas=info.config.num_replicas or 1,
        current=[leader or "leader", *[p.name or "" for p in peers if p.current]],
        lagging=[p.name or "" for p in peers if not p.current],
    )


async def _paused_reasons(store: EventStore, provider_ids: list[str]) -> dict[str, str]:
    reasons = {}
    for provider_id in provider_ids:
        last = await store.last_event(PROVIDER_HEALTH, provider_id)
        if last is not None and last.event.WhichOneof("payload") == "provider_paused":
            reasons[provider_id] = last.event.provider_paused.reason
    return reasons


async def _scrape_all() -> dict[str, Samples | None]:
    names = list(SERVICE_MODULES)
    scraped = await asyncio.gather(*(asyncio.to_thread(_scrape, metrics_url(name)) for name in names))
    return dict(zip(names, scraped))


def _scrape(url: str) -> Samples | None:
    try:
        with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT) as answer:
            text = answer.read().decode()
    except OSError:
        return None
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples
