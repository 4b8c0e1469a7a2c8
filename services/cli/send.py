"""`postroom send`: send an email (or the product page's test email) through a saved provider."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from google.protobuf import json_format

from services.cli.client import call_metadata, channel
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.settings import Settings

FINAL = {dispatch_pb2.DISPATCHED, dispatch_pb2.FAILED, dispatch_pb2.SUPPRESSED}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("send", help="send an email through a saved provider (or --test)")
    parser.add_argument("--account", required=True)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--to", action="append", required=True, help="recipient; repeat for more")
    parser.add_argument("--test", action="store_true",
                        help="send the product page's test email at once and explain any failure")
    parser.add_argument("--cc", action="append", default=[])
    parser.add_argument("--bcc", action="append", default=[])
    parser.add_argument("--subject", default="")
    parser.add_argument("--text", default="", help="plain-text body")
    parser.add_argument("--text-file", type=Path, help="read the plain-text body from a file")
    parser.add_argument("--html-file", type=Path, help="read the HTML body from a file")
    parser.add_argument("--list-id", default="", help="the mailing list, for per-list unsubscribes")
    parser.add_argument("--idempotency-key", default="", help="the same key sends at most once")
    parser.add_argument("--transactional", action="store_true", help="no List-Unsubscribe header")
    parser.add_argument("--wait", action="store_true", help="wait until the email is dispatched or failed")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(run(args, settings))


async def run(args: argparse.Namespace, settings: Settings) -> int:
    metadata = call_metadata(settings)
    async with channel(settings, "dispatch") as chan:
        stub = dispatch_pb2_grpc.DispatchServiceStub(chan)
        if args.test:
            answer = await stub.SendTestEmail(dispatch_pb2.SendTestEmailRequest(
                account_id=args.account, provider_id=args.provider, to=args.to[0]), metadata=metadata)
            _print(answer)
            return 0 if answer.delivered else 1
        accepted = await stub.SendEmail(email_request(args), metadata=metadata)
        _print(accepted)
        if not args.wait:
            return 0
        dispatch = await _wait(stub, args.account, accepted.dispatch_id, metadata)
        _print(dispatch)
        return 0 if dispatch.status == dispatch_pb2.DISPATCHED else 1


def email_request(args: argparse.Namespace) -> dispatch_pb2.SendEmailRequest:
    if not args.subject:
        raise SystemExit("postroom send: --subject is required (or use --test)")
    text = args.text_file.read_text() if args.text_file else args.text
    html = args.html_file.read_text() if args.html_file else ""
    return dispatch_pb2.SendEmailRequest(
        account_id=args.account, provider_id=args.provider, to=_addresses(args.to), cc=_addresses(args.cc),
        bcc=_addresses(args.bcc), subject=args.subject, text_body=text, html_body=html, list_id=args.list_id,
        idempotency_key=args.idempotency_key, transactional=args.transactional)


async def _wait(stub, account_id: str, dispatch_id: str, metadata, timeout: float = 120.0) -> dispatch_pb2.Dispatch:
    deadline = time.monotonic() + timeout
    while True:
        dispatch = await stub.GetDispatch(dispatch_pb2.GetDispatchRequest(account_id=account_id,
                                                                          dispatch_id=dispatch_id), metadata=metadata)
        if dispatch.status in FINAL or time.monotonic() > deadline:
            return dispatch
        if dispatch.provider_paused_reason:
            print(f"waiting: {dispatch.provider_paused_reason}", file=sys.stderr)
        await asyncio.sleep(0.5)


def _addresses(values: list[str]) -> list[events_pb2.EmailAddress]:
    return [events_pb2.EmailAddress(address=value) for value in values]


def _print(message) -> None:
    print(json_format.MessageToJson(message, preserving_proto_field_name=True))
