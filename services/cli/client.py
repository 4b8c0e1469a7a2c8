"""gRPC clients for the CLI: address and bearer token from the same settings as the services."""

from __future__ import annotations

import os
from pathlib import Path

import grpc

from services.core.settings import Settings


def api_token(settings: Settings) -> str:
    if settings.api_token:
        return settings.api_token
    dev_token = settings.data_dir / "api-token"
    if dev_token.exists():
        return dev_token.read_text().strip()
    raise SystemExit("POSTROOM_API_TOKEN is not set (and no .postroom/api-token from `postroom dev`)")


def channel(settings: Settings, service: str) -> grpc.aio.Channel:
    host = os.environ.get(f"POSTROOM_{service.upper()}_GRPC_HOST", "127.0.0.1")
    return grpc.aio.insecure_channel(f"{host}:{settings.ports.grpc_port(service)}")


def call_metadata(settings: Settings) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {api_token(settings)}"),)


def describe_rpc_error(error: grpc.aio.AioRpcError) -> str:
    from grpc_status import rpc_status
    from google.rpc import error_details_pb2

    lines = [f"{error.code().name}: {error.details()}"]
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            lines += [f"  {v.field}: {v.description}" for v in bad.field_violations]
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            lines += [f"  {v.subject}: {v.description}" for v in failure.violations]
    return "\n".join(lines)


def dev_files(data_dir: Path) -> dict[str, Path]:
    return {"api_token": data_dir / "api-token", "secret_key": data_dir / "secret.key"}
