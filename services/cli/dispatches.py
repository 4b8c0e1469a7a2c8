"""`postroom dispatches`: every dispatch of an account as a table, filtered; `--retry KEY` re-sends FAILED ones."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timezone

from google.protobuf.timestamp_pb2 import Timestamp

from services.cli.client import call_metadata, channel
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.settings import Settings

COLUMNS = ("QUEUED AT", "DISPATCH", "STATUS", "PROVIDER", "RECIPIENTS", "LIST", "DETAIL")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("dispatches", help="list an account's dispatches (and retry FAILED ones)")
    parser.add_argument("--account", required=True)
    parser.add_argument(
        "--status",
        action="append",
        default=[],
        choices=["QUEUED", "SENDING", "DISPATCHED", "FAILED", "SUPPRESSED"],
        help="repeatable",
    )
    parser.add_argument("--provider", default="")
    parser.add_argument("--list", dest="list_id", default="")
    parser.add_argument("--tag", default="", help="name=value, or name for any value")
    parser.add_argument("--recipient", default="")
    parser.add_argument("--since", type=_timestamp, help="queued at or after (ISO 8601, e.g. 2026-12-01T08:00Z)")
    parser.add_argument("--until", type=_timestamp, help="queued before (ISO 8601)")
    parser.add_argument("--limit", type=int, default=100, help="at most this many rows (0 = all)")
    parser.add_argument(
        "--retry",
        metavar="KEY",
        default="",
        help="re-queue the FAILED dispatches the filter matches; the same KEY never sends twice",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(run(args, settings))


async def run(args: argparse.Namespace, settings: Settings) -> int:
    wanted = dispatch_pb2.DispatchFilter(
        statuses=[dispatch_pb2.DispatchStatus.Value(s) for s in args.status],
        provider_id=args.provider,
        list_id=args.list_id,
        tag=args.tag,
        recipient=args.recipient,
    )
    if args.since:
        wanted.queued_after.CopyFrom(args.since)
    if args.until:
        wanted.queued_before.CopyFrom(args.until)
    async with channel(settings, "dispatch") as chan:
        stub = dispatch_pb2_grpc.DispatchServiceStub(chan)
        if args.retry:
            return await _retry(stub, settings, args, wanted)
        print_table([_row(d) for d in await _listed(stub, settings, args.account, wanted, args.limit)])
    return 0


async def _listed(stub, settings: Settings, account: str, wanted: dispatch_pb2.DispatchFilter, limit: int) -> list:
    found, token = [], ""
    while True:
        page = await stub.ListDispatches(
            dispatch_pb2.ListDispatchesRequest(
                account_id=account, filter=wanted, page_size=min(limit or 1000, 1000), page_token=token
            ),
            metadata=call_metadata(settings),
        )
        found += page.dispatches
        token = page.next_page_token
        if not token or (limit and len(found) >= limit):
            return found[:limit] if limit else found


async def _retry(stub, settings: Settings, args: argparse.Namespace, wanted: dispatch_pb2.DispatchFilter) -> int:
    answer = await stub.RetryDispatches(
        dispatch_pb2.RetryDispatchesRequest(account_id=args.account, retry_key=args.retry, filter=wanted),
        metadata=call_metadata(settings),
    )
    print_table(
        [
            (
                "",
                r.original_dispatch_id,
                "->",
                r.dispatch_id or "-",
                dispatch_pb2.DispatchStatus.Name(r.status) if r.dispatch_id else "",
                "",
                r.error_message,
            )
            for r in answer.retried
        ],
        ("", "FAILED DISPATCH", "", "NEW DISPATCH", "STATUS", "", "ERROR"),
    )
    return 1 if any(r.error_code for r in answer.retried) else 0


def _row(dispatch: dispatch_pb2.Dispatch) -> tuple[str, ...]:
    queued_at = (
        dispatch.queued_at.ToDatetime(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        if dispatch.HasField("queued_at")
        else ""
    )
    detail = dispatch.waiting_reason or dispatch.last_smtp_reply or dispatch.hint
    if dispatch.retry_of:
        detail = f"retry of {dispatch.retry_of}; {detail}".rstrip("; ")
    return (
        queued_at,
        dispatch.dispatch_id,
        dispatch_pb2.DispatchStatus.Name(dispatch.status),
        dispatch.provider_id,
        ", ".join(dispatch.recipients),
        dispatch.list_id,
        detail[:80],
    )


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = COLUMNS) -> None:
    if not rows:
        print("no dispatches match")
        return
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def _timestamp(text: str) -> Timestamp:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time, e.g. 2026-12-01T08:00Z") from None
    stamp = Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    return stamp
