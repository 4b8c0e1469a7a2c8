"""`postroom suppression`: whether dispatch will refuse an address, and why (or list them all)."""

from __future__ import annotations

import argparse
import asyncio

from google.protobuf import json_format

from services.cli.client import call_metadata, channel
from services.core.generated.postroom.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.core.settings import Settings


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("suppression", help="is an address suppressed (bounce, complaint, unsubscribe)?")
    parser.add_argument("--account", required=True)
    parser.add_argument("--email", default="", help="one address; omit to list every suppressed address")
    parser.add_argument("--list", dest="list_id", default="", help="also count unsubscribes from this list")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(run(args, settings))


async def run(args: argparse.Namespace, settings: Settings) -> int:
    async with channel(settings, "dispatch") as chan:
        stub = dispatch_pb2_grpc.DispatchServiceStub(chan)
        if args.email:
            answer = await stub.GetRecipientSuppression(
                dispatch_pb2.GetRecipientSuppressionRequest(
                    account_id=args.account, email=args.email, list_id=args.list_id
                ),
                metadata=call_metadata(settings),
            )
        else:
            answer = await stub.ListSuppressions(
                dispatch_pb2.ListSuppressionsRequest(account_id=args.account), metadata=call_metadata(settings)
            )
    print(json_format.MessageToJson(answer, preserving_proto_field_name=True))
    return 0
