"""Which failures of the event log are hiccups to ride out, and which are answers."""

from __future__ import annotations


import nats.errors
import pytest
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
        nats.errors.MaxPayloadError(),
    ],
)
def test_answers_and_bugs_are_not(error):
    assert not is_log_hiccup(error)


def test_the_waits_grow_to_their_cap():
    backoff = Backoff(first=0.1, cap=0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
