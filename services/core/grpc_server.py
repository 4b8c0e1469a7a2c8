"""The gRPC bootstrap every service shares: auth, health, reflection, graceful stop."""

from __future__ import annotations

import logging
from typing import Callable, Iterable

import grpc
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from services.core import tracing
from services.core.access_tokens import AccessTokens, TokenGrant
from services.core.account_scope import accounts_named_by, refusal
from services.core.metrics import GRPC_REQUESTS

log = logging.getLogger(__name__)

_OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class BearerTokenAuth(grpc.aio.ServerInterceptor):
    """Every call but health and reflection must carry `authorization: Bearer <token>` for a known
    token; a token scoped to accounts may only make requests whose account_id is one of them."""

    def __init__(self, tokens: AccessTokens) -> None:
        self._tokens = tokens

    async def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method.startswith(_OPEN_PREFIXES):
            return await continuation(handler_call_details)
        method = handler_call_details.method.rsplit("/", 1)[-1]
        grant = self._grant(handler_call_details.invocation_metadata)
        if grant is None:
            GRPC_REQUESTS.labels(method, "UNAUTHENTICATED").inc()
            return grpc.unary_unary_rpc_method_handler(_refuse)
        handler = await continuation(handler_call_details)
        if grant.every_account or handler is None:
            return handler
        if handler.stream_unary is not None:
            return _scoped_stream(handler, grant, method)
        if handler.unary_unary is None:
            return handler
        return _scoped(handler, grant, method)

    def _grant(self, metadata) -> TokenGrant | None:
        presented = dict(metadata or ()).get("authorization", "")
        if not isinstance(presented, str) or not presented.startswith(_BEARER):
            return None
        return self._tokens.grant_for(presented[len(_BEARER) :])


_BEARER = "Bearer "


def _scoped(handler: grpc.RpcMethodHandler, grant: TokenGrant, method: str) -> grpc.RpcMethodHandler:
    behavior = handler.unary_unary

    async def scoped(request, context: grpc.aio.ServicerContext):
        if isinstance(request, Message):
            reason = refusal(grant, request)
            if reason is not None:
                GRPC_REQUESTS.labels(method, "PERMISSION_DENIED").inc()
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, reason)
        return await behavior(request, context)

    return grpc.unary_unary_rpc_method_handler(
        scoped, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
    )


def _scoped_stream(handler: grpc.RpcMethodHandler, grant: TokenGrant, method: str) -> grpc.RpcMethodHandler:
    """A client stream (UploadContent): its first message names the account, held to the token's
    accounts like a unary request; a later one that names an account is held to them too."""
    behavior = handler.stream_unary

    async def scoped(request_iterator, context: grpc.aio.ServicerContext):
        async def checked():
            first = True
            async for request in request_iterator:
                named = isinstance(request, Message) and (first or any(accounts_named_by(request)))
                reason = refusal(grant, request) if named else None
                first = False
                if reason is not None:
                    GRPC_REQUESTS.labels(method, "PERMISSION_DENIED").inc()
                    await context.abort(grpc.StatusCode.PERMISSION_DENIED, reason)
                yield request

        return await behavior(checked(), context)

    return grpc.stream_unary_rpc_method_handler(
        scoped, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
    )


class MalformedRequestGuard(grpc.aio.ServerInterceptor):
    """Bytes that do not decode as the request message get INVALID_ARGUMENT, not grpc's UNKNOWN."""

    def __init__(self) -> None:
        self._guarded: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or handler.request_deserializer is None:
            return handler
        method = handler_call_details.method
        if method not in self._guarded:
            self._guarded[method] = _guard(handler)
        return self._guarded[method]


class ServerSpans(grpc.aio.ServerInterceptor):
    """Each unary call in a server span, continuing the caller's trace (its `traceparent` metadata)."""

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or handler_call_details.method.startswith(_OPEN_PREFIXES):
            return handler
        method = handler_call_details.method.lstrip("/")
        parent = dict(handler_call_details.invocation_metadata or ()).get(tracing.TRACEPARENT, "")
        behavior = handler.unary_unary

        async def traced(request, context: grpc.aio.ServicerContext):
            with tracing.span(
                method,
                parent=parent if isinstance(parent, str) else "",
                kind="SERVER",
                attributes={"rpc.system": "grpc", "rpc.method": method},
            ):
                return await behavior(request, context)

        return grpc.unary_unary_rpc_method_handler(
            traced, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )


_MALFORMED = object()


def _guard(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    deserialize, behavior = handler.request_deserializer, handler.unary_unary

    def tolerant_deserialize(data: bytes):
        try:
            return deserialize(data)
        except DecodeError:
            return _MALFORMED

    async def guarded(request, context: grpc.aio.ServicerContext):
        if request is _MALFORMED:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "the request is not a valid protobuf message of this method's type"
            )
        return await behavior(request, context)

    return grpc.unary_unary_rpc_method_handler(
        guarded, request_deserializer=tolerant_deserialize, response_serializer=handler.response_serializer
    )


async def _refuse(_request, context: grpc.aio.ServicerContext):
    await context.abort(
        grpc.StatusCode.UNAUTHENTICATED,
        "missing or wrong bearer token (POSTROOM_API_TOKEN, or one of POSTROOM_API_TOKENS)",
    )


class GrpcServer:
    """A grpc.aio server whose health reads NOT_SERVING until the service says it is ready.

    The server is made and bound in `start`, where a port that cannot be had is met by stopping
    the half-made server: one left to the garbage collector shuts gRPC's aio machinery down from a
    finalizer, which can hang the process."""

    def __init__(
        self,
        host: str,
        port: int,
        tokens: AccessTokens,
        service_names: Iterable[str],
        register: Callable[[grpc.aio.Server], None],
    ) -> None:
        self.address = f"{host}:{port}"
        self.tokens = tokens
        self.register = register
        self.health = health_aio.HealthServicer()
        self.service_names = list(service_names)
        self.server: grpc.aio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        interceptors = [BearerTokenAuth(self.tokens), MalformedRequestGuard()]
        if tracing.enabled():
            interceptors.append(ServerSpans())  # innermost: the span covers the call itself
        server = grpc.aio.server(
            interceptors=interceptors, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        self.register(server)
        reflection.enable_server_reflection(
            [*self.service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            server,
        )
        try:
            port = server.add_insecure_port(self.address)
        except RuntimeError:  # newer grpcio raises where older ones answered 0
            port = 0
        if port == 0:
            await server.stop(None)
            raise OSError(f"cannot listen on {self.address}")
        self.server, self.port = server, port
        await self._set_all(NOT_SERVING)
        await server.start()

    async def mark_serving(self) -> None:
        await self._set_all(SERVING)

    async def mark_not_serving(self) -> None:
        await self._set_all(NOT_SERVING)

    async def stop(self, grace: float) -> None:
        await self.health.enter_graceful_shutdown()
        if self.server is not None:
            await self.server.stop(grace)

    async def _set_all(self, status) -> None:
        for name in ["", *self.service_names]:
            await self.health.set(name, status)
