"""`postroom provider save|get|list|delete|verify|resume`: the product page's provider form, in a terminal."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from google.protobuf import json_format

from services.cli.client import call_metadata, channel
from services.core.generated.postroom.v1 import config_pb2, config_pb2_grpc, dispatch_pb2, dispatch_pb2_grpc
from services.core.settings import Settings


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("provider", help="save, read, delete and verify SES providers")
    commands = parser.add_subparsers(dest="provider_command", required=True)

    save = commands.add_parser("save", help="create or update a provider (steps 4-7 of the product page)")
    _identity(save, provider_required=False)
    save.add_argument("--version", type=int, default=0, help="the version you read; 0 to create")
    save.add_argument("--name", required=True)
    save.add_argument("--host", required=True, help="Server Name, e.g. email-smtp.us-east-1.amazonaws.com")
    save.add_argument("--port", type=int, default=587)
    save.add_argument("--username", required=True, help="SES SMTP username (not your AWS access key)")
    save.add_argument(
        "--password-env",
        default="POSTROOM_SMTP_PASSWORD",
        help="environment variable holding the SMTP password (prompted for when unset)",
    )
    save.add_argument("--from", dest="from_address", required=True)
    save.add_argument("--from-name", default="")
    save.add_argument("--region", default="")
    save.add_argument("--ses-access-key-id", default="")
    save.add_argument("--ses-secret-env", default="POSTROOM_SES_SECRET_ACCESS_KEY")
    save.add_argument("--max-send-rate", type=float, default=0.0)
    save.add_argument("--max-connections", type=int, default=0)
    save.add_argument("--sns-topic-arn", action="append", default=[])
    save.add_argument("--allow-first-sns-topic", action="store_true")
    save.add_argument("--ses-configuration-set", default="", help="sent as X-SES-CONFIGURATION-SET")
    save.add_argument("--ses-tenant", default="", help="the account's SES tenant, sent as X-SES-TENANT")
    save.add_argument(
        "--fallback",
        action="append",
        default=[],
        dest="fallbacks",
        help="a provider of the same account that sends this one's mail while it is paused "
        "(repeat for more, in the order to try them)",
    )
    save.add_argument("--skip-verification", action="store_true")

    for name in ("get", "delete", "verify"):
        _identity(commands.add_parser(name), provider_required=True)
    commands.add_parser("list").add_argument("--account", required=True)
    resume = commands.add_parser(
        "resume",
        help="lift a provider's pause (repeated failures, or the bounce/complaint guard); who and why are recorded",
    )
    _identity(resume, provider_required=True)
    resume.add_argument("--by", required=True, dest="resumed_by", help="who resumes it (your name or address)")
    resume.add_argument("--reason", required=True, help="why it is safe to send again")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(run(args, settings))
    return 0


def _identity(parser: argparse.ArgumentParser, provider_required: bool) -> None:
    parser.add_argument("--account", required=True)
    parser.add_argument("--provider", required=provider_required, default="")


async def run(args: argparse.Namespace, settings: Settings) -> None:
    if args.provider_command == "resume":
        answer = await _resume(args, settings)
        print(json_format.MessageToJson(answer, preserving_proto_field_name=True))
        return
    async with channel(settings, "config") as chan:
        stub = config_pb2_grpc.ConfigServiceStub(chan)
        answer = await _call(stub, args, settings)
    print(
        json_format.MessageToJson(answer, preserving_proto_field_name=True, always_print_fields_with_no_presence=False)
    )


async def _call(stub, args, settings: Settings):
    metadata = call_metadata(settings)
    command = args.provider_command
    if command == "save":
        request = config_pb2.SaveProviderRequest(
            account_id=args.account,
            provider_id=args.provider,
            version=args.version,
            settings=_settings(args),
            skip_verification=args.skip_verification,
        )
        return await stub.SaveProvider(request, metadata=metadata)
    if command == "get":
        return await stub.GetProvider(
            config_pb2.GetProviderRequest(account_id=args.account, provider_id=args.provider), metadata=metadata
        )
    if command == "list":
        return await stub.ListProviders(config_pb2.ListProvidersRequest(account_id=args.account), metadata=metadata)
    if command == "delete":
        return await stub.DeleteProvider(
            config_pb2.DeleteProviderRequest(account_id=args.account, provider_id=args.provider), metadata=metadata
        )
    return await stub.VerifyProvider(
        config_pb2.VerifyProviderRequest(account_id=args.account, provider_id=args.provider), metadata=metadata
    )


async def _resume(args: argparse.Namespace, settings: Settings) -> dispatch_pb2.ResumeProviderResponse:
    """Pauses are dispatch's: it records them and acts on them."""
    async with channel(settings, "dispatch") as chan:
        return await dispatch_pb2_grpc.DispatchServiceStub(chan).ResumeProvider(
            dispatch_pb2.ResumeProviderRequest(
                account_id=args.account, provider_id=args.provider, resumed_by=args.resumed_by, reason=args.reason
            ),
            metadata=call_metadata(settings),
        )


def _settings(args: argparse.Namespace) -> config_pb2.ProviderSettings:
    password = os.environ.get(args.password_env, "")
    if not password and args.version == 0 and sys.stdin.isatty():
        password = getpass.getpass("SES SMTP password: ")
    return config_pb2.ProviderSettings(
        name=args.name,
        smtp_host=args.host,
        smtp_port=args.port,
        smtp_username=args.username,
        smtp_password=password,
        from_address=args.from_address,
        from_name=args.from_name,
        region=args.region,
        ses_access_key_id=args.ses_access_key_id,
        ses_secret_access_key=os.environ.get(args.ses_secret_env, ""),
        max_send_rate=args.max_send_rate,
        max_connections=args.max_connections,
        sns_topic_arns=args.sns_topic_arn,
        allow_first_sns_topic=args.allow_first_sns_topic,
        ses_configuration_set=args.ses_configuration_set,
        ses_tenant=args.ses_tenant,
        fallback_provider_ids=args.fallbacks,
    )
