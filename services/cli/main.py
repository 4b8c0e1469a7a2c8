"""The `postroom` command."""

from __future__ import annotations

import argparse
import asyncio
import sys

import grpc

from services.cli import provider
from services.cli.catalog import SERVICE_MODULES, service_module
from services.cli.client import describe_rpc_error
from services.core.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="postroom", description="Postroom: an email-provider backbone for Amazon SES")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="run NATS and every service locally (make run)")
    commands.add_parser("serve", help="run one service").add_argument("service", choices=list(SERVICE_MODULES))
    replay = commands.add_parser("replay", help="drop a service's read model and rebuild it from the stream")
    replay.add_argument("service", choices=list(SERVICE_MODULES))
    commands.add_parser("keygen", help="print a new POSTROOM_SECRET_KEY / POSTROOM_UNSUBSCRIBE_KEY value")
    events = commands.add_parser("events", help="read the event log")
    events.add_argument("events_command", choices=["tail"])
    events.add_argument("--from-seq", type=int, default=0, help="start at this stream sequence (0 = new events)")
    provider.add_parser(commands)
    args = parser.parse_args(argv)
    settings = Settings.from_env()

    if args.command == "dev":
        from services.cli.dev import run_dev
        return run_dev(settings)
    if args.command == "serve":
        from services.core.runtime import run_until_signalled
        asyncio.run(run_until_signalled(args.service, settings, service_module(args.service).build))
        return 0
    if args.command == "replay":
        from services.cli.replay import replay_service
        return asyncio.run(replay_service(args.service, settings))
    if args.command == "keygen":
        from services.core.secret_box import generate_key_spec
        print(generate_key_spec())
        return 0
    if args.command == "events":
        from services.cli.events import tail
        return asyncio.run(tail(settings, args.from_seq))
    try:
        asyncio.run(provider.run(args, settings))
    except grpc.aio.AioRpcError as error:
        print(describe_rpc_error(error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
