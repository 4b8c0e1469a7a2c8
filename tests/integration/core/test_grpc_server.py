"""The shared gRPC server: a port that is taken is named in a clear error, and nothing is left half-made."""

from __future__ import annotations

import socket

import pytest

from services.core.access_tokens import AccessTokens
from services.core.grpc_server import GrpcServer


async def test_a_port_already_taken_is_named_and_the_half_made_server_stopped():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        server = GrpcServer("127.0.0.1", port, AccessTokens.from_sources("token"), [], lambda _server: None)
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            await server.start()
        assert server.server is None and server.port == 0
        await server.stop(0)  # stopping one that never started is harmless
    finally:
        taken.close()
