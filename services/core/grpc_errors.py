"""One place that maps Postroom errors to gRPC status codes with google.rpc details."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any, Awaitable, Callable, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.core.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound, PostroomError, Unavailable
from services.core.event_store import ConcurrencyConflict
from services.core.log import redact
from services.core.metrics import GRPC_LATENCY, GRPC_REQUESTS

log = logging.getLogger(__name__)

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])

_CODES: dict[type[PostroomError], int] = {
    InvalidArgument: code_pb2.INVALID_ARGUMENT,
    NotFound: code_pb2.NOT_FOUND,
    Conflict: code_pb2.ABORTED,
    FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    Unavailable: code_pb2.UNAVAILABLE,
}


def status_for(error: Exception) -> status_pb2.Status:
    if isinstance(error, ConcurrencyConflict):
        return status_pb2.Status(code=code_pb2.ABORTED, message="the record changed meanwhile: read it again and retry")
    if not isinstance(error, PostroomError):
        return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error")
    code = next((c for kind, c in _CODES.items() if isinstance(error, kind)), code_pb2.UNKNOWN)
    status = status_pb2.Status(code=code, message=redact(error.message))
    detail = _detail_for(error)
    if detail is not None:
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return status


def _detail_for(error: PostroomError):
    if isinstance(error, InvalidArgument):
        return error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=redact(v.description))
                for v in error.violations
            ]
        )
    if isinstance(error, FailedPrecondition) and error.violations:
        return error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=v.type, subject=v.subject, description=redact(v.description)
                )
                for v in error.violations
            ]
        )
    return None


def rpc(handler: Handler) -> Handler:
    """Wrap a servicer method: errors become rich statuses, every call is counted and timed."""

    @functools.wraps(handler)
    async def wrapper(self, request, context: grpc.aio.ServicerContext):
        method = handler.__name__
        started = time.perf_counter()
        code = "OK"
        try:
            return await handler(self, request, context)
        except (PostroomError, ConcurrencyConflict) as error:
            status = status_for(error)
            code = _code_name(status.code)
            await context.abort_with_status(rpc_status.to_status(status))
        except Exception as error:
            if isinstance(error, grpc.aio.AbortError):
                raise
            code = "INTERNAL"
            log.exception("unhandled error", extra={"method": method})
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        finally:
            GRPC_REQUESTS.labels(method, code).inc()
            GRPC_LATENCY.labels(method).observe(time.perf_counter() - started)

    return wrapper  # type: ignore[return-value]


def _code_name(code: int) -> str:
    return next(c.name for c in grpc.StatusCode if c.value[0] == code)
