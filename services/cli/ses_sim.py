"""`postroom ses-sim [...]`: run the local SES stand-in, list what it caught, change its state.

    postroom ses-sim                                    run it (settings: POSTROOM_SIM_*)
    postroom ses-sim inbox [--to A] [--region R]        messages kept, with attachments, set and tenant
    postroom ses-sim attachment MESSAGE_ID N [-o FILE]  download attachment N of a message
    postroom ses-sim subscribe --endpoint URL           subscribe an endpoint to an SNS topic
    postroom ses-sim account [--enforcement SHUTDOWN] [--sending-enabled false] [--max-send-rate 50] ...
    postroom ses-sim suppression list|add|delete [ADDRESS] [--reason COMPLAINT] [--tenant T]
    postroom ses-sim configuration-set list|add|delete [NAME]
    postroom ses-sim tenant list|add|delete|status [NAME] [--sending-status DISABLED] [--cause TEXT]

Every command but `inbox`, `attachment` and `subscribe` takes `--region` (default: the default region).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from services.core.settings import Settings


def _flag(text: str) -> bool:
    if text.lower() in ("true", "yes", "1", "on"):
        return True
    if text.lower() in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("ses-sim", help="run a local stand-in for Amazon SES (SMTP, API, SNS feedback)")
    parser.add_argument(
        "--url",
        default="",
        help="the running simulator's web address (default from POSTROOM_SIM_HOST / POSTROOM_SIM_WEB_PORT)",
    )
    commands = parser.add_subparsers(dest="sim_command")
    inbox = commands.add_parser("inbox", help="list the messages the simulator accepted, newest first")
    inbox.add_argument("--limit", type=int, default=20)
    inbox.add_argument("--to", default="", help="only messages to this recipient")
    inbox.add_argument("--region", default="", help="only messages sent to this region")
    inbox.add_argument("--json", action="store_true", help="print the JSON API's answer")
    attachment = commands.add_parser("attachment", help="download one attachment or inline part of a message")
    attachment.add_argument("message_id")
    attachment.add_argument("index", type=int, help="its number, as `inbox` lists it")
    attachment.add_argument("-o", "--output", default="", help="the file to write (default: its own file name)")
    subscribe = commands.add_parser("subscribe", help="subscribe an HTTP(S) endpoint to the simulator's SNS topic")
    subscribe.add_argument("--endpoint", required=True, help="e.g. the provider's callback URL")
    subscribe.add_argument("--topic-arn", default="", help="default: the default region's topic")
    _add_account_parser(commands)
    _add_state_parser(commands, "suppression", "the account's (or a tenant's) suppression list", "ADDRESS")
    _add_state_parser(commands, "configuration-set", "configuration sets", "NAME")
    _add_state_parser(commands, "tenant", "tenants", "NAME")
    parser.set_defaults(handler=handle)


def _add_account_parser(commands) -> None:
    account = commands.add_parser("account", help="show or change the SES account's standing and limits")
    account.add_argument("--region", default="")
    account.add_argument("--enforcement", choices=("HEALTHY", "PROBATION", "SHUTDOWN"), dest="enforcement_status")
    account.add_argument("--sending-enabled", type=_flag, metavar="true|false")
    account.add_argument("--production-access", type=_flag, metavar="true|false", dest="production_access_enabled")
    account.add_argument("--max-send-rate", type=float)
    account.add_argument("--max-24-hour-send", type=int)


def _add_state_parser(commands, name: str, what: str, argument: str) -> None:
    actions = ["list", "add", "delete"] + (["status"] if name == "tenant" else [])
    command = commands.add_parser(name, help=f"list, add or delete {what}")
    command.add_argument("action", choices=actions)
    command.add_argument("name", nargs="?", default="", metavar=argument)
    command.add_argument("--region", default="")
    if name == "suppression":
        command.add_argument("--reason", choices=("BOUNCE", "COMPLAINT"), default="BOUNCE")
        command.add_argument("--tenant", default="", help="a tenant's own list instead of the account's")
    if name == "tenant":
        command.add_argument(
            "--sending-status",
            choices=("ENABLED", "REINSTATED", "DISABLED"),
            help="with status: the status SES manages for the tenant (DISABLED pauses it)",
        )
        command.add_argument("--cause", default=None)


def handle(args: argparse.Namespace, _: Settings) -> int:
    from services.ses_sim.settings import SimulatorSettings

    settings = SimulatorSettings.from_env()
    base = (args.url or f"http://{settings.host}:{settings.web_port}").rstrip("/")
    commands = {
        "inbox": _inbox,
        "attachment": _attachment,
        "subscribe": _subscribe,
        "account": _account,
        "suppression": _suppression,
        "configuration-set": _configuration_set,
        "tenant": _tenant,
    }
    if args.sim_command in commands:
        return commands[args.sim_command](base, args)
    from services.ses_sim.main import run_forever

    return run_forever(settings)


def _open(method: str, url: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        raise SystemExit(
            f"postroom ses-sim: {url} answered {error.code}: {error.read().decode(errors='replace')}"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        raise SystemExit(
            f"postroom ses-sim: cannot reach the simulator at {url} ({error}); is `postroom ses-sim` running?"
        ) from None


def _call(method: str, url: str, body: dict | None = None) -> dict:
    with _open(method, url, body) as answer:
        return json.loads(answer.read())


def _control_url(base: str, path: str, args: argparse.Namespace, **query: str) -> str:
    parameters = {key: value for key, value in (("region", args.region), *query.items()) if value}
    return f"{base}/_sim/{path}" + (f"?{urllib.parse.urlencode(parameters)}" if parameters else "")


def _print(document: dict) -> int:
    print(json.dumps(document, indent=2))
    return 0


def _inbox(base: str, args: argparse.Namespace) -> int:
    filters = {"to": args.to, "region": args.region}
    query = urllib.parse.urlencode({"limit": args.limit, **{k: v for k, v in filters.items() if v}})
    answer = _call("GET", f"{base}/api/messages?{query}")
    if args.json:
        return _print(answer)
    print(f"{answer['total']} message(s); showing {len(answer['messages'])}, newest first ({base}/)")
    for message in answer["messages"]:
        print(
            f"{message['received_at']}  {message['id']}\n    from {message['from'] or message['mail_from']}"
            f"  to {', '.join(message['recipients'])}\n    subject: {message['subject']}"
        )
        sent_with = [
            f"{key.replace('_', ' ')} {message[key]}"
            for key in ("region", "configuration_set", "tenant")
            if message.get(key)
        ]
        if message.get("configuration_set") or message.get("tenant"):
            print(f"    sent with: {', '.join(sent_with)}")
        for part in message["attachments"]:
            cid = f", cid:{part['content_id']}" if part["content_id"] else ""
            print(
                f"    [{part['index']}] {part['filename'] or '(no file name)'} ({part['media_type']}, "
                f"{part['size']:,} bytes{cid})  {base}{part['url']}"
            )
    return 0


def _attachment(base: str, args: argparse.Namespace) -> int:
    from email.message import Message

    with _open("GET", f"{base}/messages/{urllib.parse.quote(args.message_id)}/attachments/{args.index}") as answer:
        disposition = Message()
        disposition["Content-Disposition"] = answer.headers.get("Content-Disposition", "")
        name = Path(disposition.get_filename() or f"part-{args.index}").name  # never a path from the message
        target = Path(args.output or name)
        target.write_bytes(answer.read())
    print(f"wrote {target} ({target.stat().st_size:,} bytes)")
    return 0


def _subscribe(base: str, args: argparse.Namespace) -> int:
    body = {"endpoint": args.endpoint, **({"topic_arn": args.topic_arn} if args.topic_arn else {})}
    answer = _call("POST", f"{base}/api/subscriptions", body)
    state = "confirmed" if answer["confirmed"] else "pending: a SubscriptionConfirmation was sent to the endpoint"
    print(f"{answer['topic_arn']} -> {answer['endpoint']}: {state}", file=sys.stdout)
    return 0


def _account(base: str, args: argparse.Namespace) -> int:
    fields = ("enforcement_status", "sending_enabled", "production_access_enabled", "max_send_rate", "max_24_hour_send")
    changes = {name: getattr(args, name) for name in fields if getattr(args, name) is not None}
    url = _control_url(base, "account", args)
    return _print(_call("PUT", url, changes) if changes else _call("GET", url))


def _needs_name(args: argparse.Namespace) -> str:
    if not args.name:
        raise SystemExit(f"postroom ses-sim {args.sim_command} {args.action}: name what to {args.action}")
    return urllib.parse.quote(args.name, safe="@")


def _suppression(base: str, args: argparse.Namespace) -> int:
    if args.action == "list":
        return _print(_call("GET", _control_url(base, "suppressed", args, tenant=args.tenant)))
    url = _control_url(base, f"suppressed/{_needs_name(args)}", args, tenant=args.tenant)
    return _print(_call("PUT", url, {"reason": args.reason}) if args.action == "add" else _call("DELETE", url))


def _configuration_set(base: str, args: argparse.Namespace) -> int:
    if args.action == "list":
        return _print(_call("GET", _control_url(base, "configuration-sets", args)))
    url = _control_url(base, f"configuration-sets/{_needs_name(args)}", args)
    return _print(_call("PUT", url, {}) if args.action == "add" else _call("DELETE", url))


def _tenant(base: str, args: argparse.Namespace) -> int:
    if args.action == "list":
        return _print(_call("GET", _control_url(base, "tenants", args)))
    url = _control_url(base, f"tenants/{_needs_name(args)}", args)
    if args.action == "delete":
        return _print(_call("DELETE", url))
    if args.action == "status" and not args.sending_status:
        raise SystemExit("postroom ses-sim tenant status: give --sending-status ENABLED, REINSTATED or DISABLED")
    body = (
        {"sending_status": args.sending_status, **({"cause": args.cause} if args.cause else {})}
        if args.sending_status
        else {}
    )
    return _print(_call("PUT", url, body))
