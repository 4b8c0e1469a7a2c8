"""`postroom unsubscribe [status]|resubscribe`: record or lift an unsubscribe, and look one up."""

from __future__ import annotations

import argparse
import asyncio

from google.protobuf import json_format

from services.cli.client import call_metadata, channel
from services.core.generated.postroom.v1 import unsubscribe_pb2, unsubscribe_pb2_grpc
from services.core.settings import Settings


def add_parser(subparsers) -> None:
    unsubscribe = subparsers.add_parser(
        "unsubscribe",
        help="stop mail to an address (one list, or every list); `unsubscribe status` shows whether it is unsubscribed",
    )
    unsubscribe.add_argument(
        "status",
        nargs="?",
        choices=["status"],
        help="status: whether the address is unsubscribed, globally and per list",
    )
    _address(unsubscribe)
    unsubscribe.add_argument("--reason", default="")
    unsubscribe.set_defaults(handler=_unsubscribe_or_status)

    resubscribe = subparsers.add_parser("resubscribe", help="lift an unsubscribe (only with the person's consent)")
    _address(resubscribe)
    resubscribe.add_argument(
        "--remove-from-ses",
        action="store_true",
        help="also take the address off SES's suppression list of the account's providers",
    )
    resubscribe.set_defaults(handler=handle, unsubscribe_command="resubscribe")


def _address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--list", dest="list_id", default="", help="list id; omit for every list")


def _unsubscribe_or_status(args: argparse.Namespace, settings: Settings) -> int:
    args.unsubscribe_command = "status" if args.status else "unsubscribe"
    return handle(args, settings)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    answer = asyncio.run(_call(args, settings))
    print(json_format.MessageToJson(answer, preserving_proto_field_name=True))
    return 0


async def _call(args: argparse.Namespace, settings: Settings) -> unsubscribe_pb2.SubscriptionStatus:
    async with channel(settings, "unsubscribe") as chan:
        stub = unsubscribe_pb2_grpc.UnsubscribeServiceStub(chan)
        metadata = call_metadata(settings)
        if args.unsubscribe_command == "unsubscribe":
            return await stub.Unsubscribe(
                unsubscribe_pb2.UnsubscribeRequest(
                    account_id=args.account, email=args.email, list_id=args.list_id, reason=args.reason, source="api"
                ),
                metadata=metadata,
            )
        if args.unsubscribe_command == "resubscribe":
            return await stub.Resubscribe(
                unsubscribe_pb2.ResubscribeRequest(
                    account_id=args.account,
                    email=args.email,
                    list_id=args.list_id,
                    source="api",
                    remove_from_ses=args.remove_from_ses,
                ),
                metadata=metadata,
            )
        return await stub.GetStatus(
            unsubscribe_pb2.GetStatusRequest(account_id=args.account, email=args.email), metadata=metadata
        )
