"""`postroom ses-sim [inbox|subscribe]`: run the local SES stand-in, list what it caught, subscribe an endpoint."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from services.core.settings import Settings


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("ses-sim", help="run a local stand-in for Amazon SES (SMTP, API, SNS feedback)")
    parser.add_argument("--url", default="", help="the running simulator's web address (default from "
                                                  "POSTROOM_SIM_HOST / POSTROOM_SIM_WEB_PORT)")
    commands = parser.add_subparsers(dest="sim_command")
    inbox = commands.add_parser("inbox", help="list the messages the simulator accepted, newest first")
    inbox.add_argument("--limit", type=int, default=20)
    inbox.add_argument("--to", default="", help="only messages to this recipient")
    inbox.add_argument("--json", action="store_true", help="print the JSON API's answer")
    subscribe = commands.add_parser("subscribe", help="subscribe an HTTP(S) endpoint to the simulator's SNS topic")
    subscribe.add_argument("--endpoint", required=True, help="e.g. the provider's callback URL")
    subscribe.add_argument("--topic-arn", default="")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, _: Settings) -> int:
    from services.ses_sim.settings import SimulatorSettings
    settings = SimulatorSettings.from_env()
    base = (args.url or f"http://{settings.host}:{settings.web_port}").rstrip("/")
    if args.sim_command == "inbox":
        return _inbox(base, args)
    if args.sim_command == "subscribe":
        return _subscribe(base, args)
    from services.ses_sim.main import run_forever
    return run_forever(settings)


def _call(method: str, url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        raise SystemExit(f"postroom ses-sim: {url} answered {error.code}: {error.read().decode(errors='replace')}")
    except (urllib.error.URLError, OSError) as error:
        raise SystemExit(f"postroom ses-sim: cannot reach the simulator at {url} ({error}); is `postroom ses-sim` "
                         "running?")


def _inbox(base: str, args: argparse.Namespace) -> int:
    query = urllib.parse.urlencode({"limit": args.limit, **({"to": args.to} if args.to else {})})
    answer = _call("GET", f"{base}/api/messages?{query}")
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    print(f"{answer['total']} message(s); showing {len(answer['messages'])}, newest first ({base}/)")
    for message in answer["messages"]:
        print(f"{message['received_at']}  {message['id']}\n    from {message['from'] or message['mail_from']}"
              f"  to {', '.join(message['recipients'])}\n    subject: {message['subject']}")
    return 0


def _subscribe(base: str, args: argparse.Namespace) -> int:
    body = {"endpoint": args.endpoint, **({"topic_arn": args.topic_arn} if args.topic_arn else {})}
    answer = _call("POST", f"{base}/api/subscriptions", body)
    state = "confirmed" if answer["confirmed"] else "pending: a SubscriptionConfirmation was sent to the endpoint"
    print(f"{answer['topic_arn']} -> {answer['endpoint']}: {state}", file=sys.stdout)
    return 0
