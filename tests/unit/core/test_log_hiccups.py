"""Which failures of the event log are hiccups to ride out, and which are answers."""

from __future__ import annotations


import asyncio

import nats.errors
import pytest
import uvloop
from nats.js.errors import APIError, BadRequestError, KeyNotFoundError, NoStreamResponseError, ServiceUnavailableError

from services.core.log_hiccups import Backoff, SubjectBusy, is_log_hiccup


@pytest.mark.parametrize(
    "error",
    [
        NoStreamResponseError(),
        nats.errors.TimeoutError(),
        TimeoutError(),
        ConnectionResetError(),
        nats.errors.ConnectionReconnectingError(),
        nats.errors.NoServersError(),
        SubjectBusy(),
        ServiceUnavailableError(code=503, err_code=10008, description="JetStream system temporarily unavailable"),
        APIError(code=500, err_code=10009, description="JetStream cluster can not handle request"),
        APIError(code=409, err_code=10158, description="duplicate message id is in process"),
    ],
)
def test_leader_elections_and_reconnects_are_hiccups(error):
    assert is_log_hiccup(error)


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError(code=400, err_code=10071, description="wrong last sequence: 7"),
        APIError(code=400, err_code=10060, description="expected stream does not match"),
        KeyNotFoundError(),
        ValueError("a bug"),
        RuntimeError("a bug"),
        nats.errors.MaxPayloadError(),
    ],
)
def test_answers_and_bugs_are_not(error):
    assert not is_log_hiccup(error)


def test_a_write_on_a_connection_uvloop_has_just_closed_is_a_hiccup():
    """What nats-py's publish raises on uvloop when its server is killed mid-write (seen through a
    kill of a stream leader): the real error, from a real closed transport."""

    async def write_after_close() -> BaseException:
        server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
        _, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
        writer.transport.close()
        await asyncio.sleep(0)
        try:
            writer.writelines([b"PUB x 0\r\n\r\n"])
        except RuntimeError as error:
            return error
        finally:
            server.close()
        raise AssertionError("uvloop took the write")

    error = uvloop.run(write_after_close())
    assert is_log_hiccup(error), error


def test_the_waits_grow_to_their_cap():
    backoff = Backoff(first=0.1, cap=0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
