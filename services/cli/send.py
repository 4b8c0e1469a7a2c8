"""`postroom send`: send an email (or the product page's test email) through a saved provider."""

from __future__ import annotations

import argparse
import asyncio
import mimetypes
import sys
import time
from pathlib import Path

from google.protobuf import json_format

from services.cli.client import call_metadata, channel
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc, events_pb2
from services.core.settings import Settings
from services.dispatch.content import UPLOAD_CHUNK_BYTES

FINAL = {dispatch_pb2.DISPATCHED, dispatch_pb2.FAILED, dispatch_pb2.SUPPRESSED}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("send", help="send an email through a saved provider (or --test)")
    parser.add_argument("--account", required=True)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--to", action="append", required=True, help="recipient; repeat for more")
    parser.add_argument(
        "--test", action="store_true", help="send the product page's test email at once and explain any failure"
    )
    parser.add_argument("--cc", action="append", default=[])
    parser.add_argument("--bcc", action="append", default=[])
    parser.add_argument("--subject", default="")
    parser.add_argument("--text", default="", help="plain-text body")
    parser.add_argument("--text-file", type=Path, help="read the plain-text body from a file")
    parser.add_argument("--html-file", type=Path, help="read the HTML body from a file")
    parser.add_argument(
        "--attach",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="attach a file (uploaded first, so it may be as large as the provider takes); repeat for more",
    )
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
            answer = await stub.SendTestEmail(
                dispatch_pb2.SendTestEmailRequest(account_id=args.account, provider_id=args.provider, to=args.to[0]),
                metadata=metadata,
            )
            _print(answer)
            return 0 if answer.delivered else 1
        request = email_request(args)
        for path in args.attach:
            request.attachments.append(await _attachment(stub, args.account, path, metadata))
        accepted = await stub.SendEmail(request, metadata=metadata)
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
        account_id=args.account,
        provider_id=args.provider,
        to=_addresses(args.to),
        cc=_addresses(args.cc),
        bcc=_addresses(args.bcc),
        subject=args.subject,
        text_body=text,
        html_body=html,
        list_id=args.list_id,
        idempotency_key=args.idempotency_key,
        transactional=args.transactional,
    )


async def _attachment(stub, account_id: str, path: Path, metadata) -> dispatch_pb2.Attachment:
    try:
        content = path.read_bytes()
    except OSError as error:
        raise SystemExit(f"postroom send: cannot read --attach {path}: {error.strerror}") from None
    uploaded = await stub.UploadContent(_chunks(account_id, content), metadata=metadata)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return dispatch_pb2.Attachment(filename=path.name, media_type=media_type, content_ref=uploaded.content_ref)


async def _chunks(account_id: str, content: bytes):
    for start in range(0, max(1, len(content)), UPLOAD_CHUNK_BYTES):
        yield dispatch_pb2.UploadContentRequest(
            account_id=account_id,
            chunk=content[start : start + UPLOAD_CHUNK_BYTES],
            total_size=len(content) if start == 0 else 0,
        )


async def _wait(stub, account_id: str, dispatch_id: str, metadata, timeout: float = 120.0) -> dispatch_pb2.Dispatch:
    deadline = time.monotonic() + timeout
    while True:
        dispatch = await stub.GetDispatch(
            dispatch_pb2.GetDispatchRequest(account_id=account_id, dispatch_id=dispatch_id), metadata=metadata
        )
        if dispatch.status in FINAL or time.monotonic() > deadline:
            return dispatch
        if dispatch.provider_paused_reason:
            print(f"waiting: {dispatch.provider_paused_reason}", file=sys.stderr)
        await asyncio.sleep(0.5)


def _addresses(values: list[str]) -> list[events_pb2.EmailAddress]:
    return [events_pb2.EmailAddress(address=value) for value in values]


def _print(message) -> None:
    print(json_format.MessageToJson(message, preserving_proto_field_name=True))
