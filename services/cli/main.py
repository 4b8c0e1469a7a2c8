"""The `postroom` command. Each command module registers its parser and sets `handler`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys

import grpc

from services.cli.catalog import SERVICE_MODULES, service_module
from services.cli.client import describe_rpc_error
from services.core import event_loop
from services.core.settings import Settings

# Modules of services.cli with add_parser(subcommands); their parsers set `handler(args, settings) -> int`.
# `postroom serve` does without them: a service process loads no other command's stubs and clients
# (1.0-1.4 MB of each service's memory in bench/memory.py).
COMMAND_MODULES = (
    "provider",
    "send",
    "dispatches",
    "suppression",
    "ses_sim",
    "unsubscribe",
    "status",
    "cluster",
    "token",
)


def _dev(args, settings: Settings) -> int:
    from services.cli.dev import run_dev

    return run_dev(settings, cluster=args.cluster)


def _serve(args, settings: Settings) -> int:
    from services.core.runtime import run_until_signalled

    event_loop.run(run_until_signalled(args.service, settings, service_module(args.service).build), settings.event_loop)
    return 0


def _replay(args, settings: Settings) -> int:
    from services.cli.replay import replay_service

    return event_loop.run(replay_service(args.service, settings), settings.event_loop)


def _keygen(args, settings: Settings) -> int:
    from services.core.secret_box import generate_key_spec

    print(generate_key_spec(args.kid))
    return 0


def _events(args, settings: Settings) -> int:
    from services.cli.events import tail

    return asyncio.run(tail(settings, args.from_seq))


def build_parser(with_command_modules: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="postroom", description="Postroom: an email-provider backbone for Amazon SES")
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run NATS and every service locally (make run)")
    dev.add_argument(
        "--cluster", action="store_true", help="on a 3-node JetStream cluster (R3 stream) instead of one nats-server"
    )
    dev.set_defaults(handler=_dev)
    serve = commands.add_parser("serve", help="run one service")
    serve.add_argument("service", choices=list(SERVICE_MODULES))
    serve.set_defaults(handler=_serve)
    replay = commands.add_parser("replay", help="rebuild a service's read model beside the live one, then switch to it")
    replay.add_argument("service", choices=list(SERVICE_MODULES))
    replay.set_defaults(handler=_replay)
    keygen = commands.add_parser("keygen", help="print a new POSTROOM_SECRET_KEY / POSTROOM_UNSUBSCRIBE_KEY value")
    keygen.add_argument("--kid", default="k1", help="key id, e.g. k2 when rotating")
    keygen.set_defaults(handler=_keygen)
    events = commands.add_parser("events", help="read the event log")
    events.add_argument("events_command", choices=["tail"])
    events.add_argument("--from-seq", type=int, default=0, help="start at this stream sequence (0 = new events)")
    events.set_defaults(handler=_events)
    for name in COMMAND_MODULES if with_command_modules else ():
        importlib.import_module(f"services.cli.{name}").add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(with_command_modules=argv[:1] != ["serve"]).parse_args(argv)
    try:
        return args.handler(args, Settings.from_env())
    except grpc.aio.AioRpcError as error:
        print(describe_rpc_error(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
