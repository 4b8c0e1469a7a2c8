"""The CLI's connections (gRPC services, the NATS event log), from the same settings as the services.

A person at a terminal gets an answer within seconds: a service or NATS that cannot be reached ends
the command with one line naming what was tried and what to do, never a reconnect loop."""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import urlsplit

import grpc
import nats.errors

from services.core.event_store import EventStore
from services.core.settings import Settings

CONNECT_PATIENCE = 2.5  # seconds; with the interpreter's start (about 1 s) the command ends within 5 s
_HINT = "is `make run` running?"


def api_token(settings: Settings) -> str:
    if settings.api_token:
        return settings.api_token
    dev_token = settings.data_dir / "api-token"
    if dev_token.exists():
        return dev_token.read_text().strip()
    raise SystemExit("POSTROOM_API_TOKEN is not set (and no .postroom/api-token from `postroom dev`)")


class Unreachable(SystemExit):
    """Ends the command with exit status 1 and this one line on stderr."""


def service_address(settings: Settings, service: str) -> str:
    host = os.environ.get(f"POSTROOM_{service.upper()}_GRPC_HOST", "127.0.0.1")
    return f"{host}:{settings.ports.grpc_port(service)}"


@asynccontextmanager
async def channel(settings: Settings, service: str) -> AsyncIterator[grpc.aio.Channel]:
    """A channel already connected to the service, or Unreachable."""
    address = service_address(settings, service)
    async with grpc.aio.insecure_channel(address) as chan:
        try:
            await asyncio.wait_for(_connected(chan), CONNECT_PATIENCE)
        except (TimeoutError, ConnectionError):
            raise Unreachable(
                f"cannot reach the {service} service at {address}: {_HINT} "
                f"(POSTROOM_{service.upper()}_GRPC_PORT / _GRPC_HOST name it)"
            ) from None
        yield chan


async def _connected(chan: grpc.aio.Channel) -> None:
    state = chan.get_state(try_to_connect=True)
    while state != grpc.ChannelConnectivity.READY:
        if state in (grpc.ChannelConnectivity.TRANSIENT_FAILURE, grpc.ChannelConnectivity.SHUTDOWN):
            raise ConnectionError(state.name)
        await chan.wait_for_state_change(state)
        state = chan.get_state(try_to_connect=True)


async def event_store(settings: Settings, name: str) -> EventStore:
    """The event log, reached within CONNECT_PATIENCE, or Unreachable. nats-py retries the first
    contact forever and reports each try; a person gets one line instead."""
    quiet = _Quieted("services.core.event_store")
    try:
        await _any_seed_answers(settings.nats_servers)
        with quiet:
            return await asyncio.wait_for(EventStore.connect(settings, name=name), CONNECT_PATIENCE)
    except NatsUnanswered as error:
        raise Unreachable(
            f"cannot reach NATS at {settings.nats_url}: {_HINT} ({error}; POSTROOM_NATS_URL names it)"
        ) from None
    except (TimeoutError, OSError) as error:
        reason = quiet.last_error or str(error) or f"no JetStream answer within {CONNECT_PATIENCE:g} s"
        raise Unreachable(
            f"cannot reach NATS at {settings.nats_url}: {_HINT} ({reason}; POSTROOM_NATS_URL names it)"
        ) from None
    except nats.errors.Error as error:
        raise Unreachable(
            f"NATS at {settings.nats_url} answers but its JetStream does not ({type(error).__name__}): "
            "is it a nats-server >= 2.10 started with -js, as `make run` starts it?"
        ) from None


async def _any_seed_answers(servers: list[str]) -> None:
    """A refused connection to every seed is a clear answer: no need to wait out the patience."""
    failures = []
    for server in servers:
        url = urlsplit(server if "://" in server else f"nats://{server}")
        try:
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection(url.hostname, url.port or 4222), CONNECT_PATIENCE / len(servers)
            )
        except TimeoutError:
            failures.append(f"{server}: no answer")
            continue
        except OSError as error:
            failures.append(f"{server}: {error.strerror or error}")
            continue
        writer.close()
        return
    raise NatsUnanswered("; ".join(failures) or "POSTROOM_NATS_URL is empty")


class NatsUnanswered(OSError):
    pass


class _Quieted(logging.Filter):
    """Keeps a logger's warnings (nats-py's 'nats error' per try) off the terminal, remembering the last."""

    def __init__(self, logger: str) -> None:
        super().__init__()
        self._logger = logging.getLogger(logger)
        self.last_error = ""

    def filter(self, record: logging.LogRecord) -> bool:
        self.last_error = str(getattr(record, "error", "")) or self.last_error
        return record.levelno >= logging.ERROR

    def __enter__(self) -> "_Quieted":
        self._logger.addFilter(self)
        return self

    def __exit__(self, *_exc) -> None:
        self._logger.removeFilter(self)


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
