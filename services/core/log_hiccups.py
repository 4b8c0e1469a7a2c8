"""Which failures of the event log are hiccups (retry the same append) and which are answers.

A JetStream cluster changes stream leader on every node loss and rolling upgrade; for a few
seconds appends then fail with no responders, time out, or get "not leader" / "temporarily
unavailable" answers, and a client whose server went away reconnects to another. None of these
says anything about the append itself, so the same append (same Nats-Msg-Id, same expected
sequence) is simply tried again.
"""

from __future__ import annotations

import asyncio
from typing import TypeGuard

import nats.errors
from nats.js.errors import APIError, NoStreamResponseError

# JetStream API error codes that mean "the cluster could not handle this right now".
_UNAVAILABLE_CODES = frozenset(
    {
        10008,  # JetStream system temporarily unavailable
        10009,  # JetStream cluster can not handle request (not leader)
        10118,  # stream is offline
        10158,  # duplicate message id is in process: the first try is still being committed
        10194,  # stream is offline: <reason>
    }
)

_CONNECTION_ERRORS = (
    NoStreamResponseError,  # 503 no responders: no stream leader right now
    nats.errors.NoRespondersError,
    nats.errors.TimeoutError,  # the ack did not come back in time
    nats.errors.ConnectionReconnectingError,  # (a closed connection is not a hiccup: it never comes back)
    nats.errors.NoServersError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,  # buffered while reconnecting, and the buffer is full
    asyncio.TimeoutError,
    OSError,
)


class SubjectBusy(Exception):
    """A clustered stream refused an expected-sequence append because another append to the same
    subject is still being committed (error 10164 without a sequence): not a conflict yet."""


# uvloop refuses a write to a transport that has just closed (asyncio's loop drops it), and
# nats-py's publish meets that when its server dies between the write and nats-py noticing.
_CLOSED_UVLOOP_TRANSPORT = "the handler is closed"


def is_log_hiccup(error: object) -> TypeGuard[Exception]:
    # `object`: the event store asks it of each outcome of a batch, an Appended or an Exception.
    if isinstance(error, APIError):
        # nats-py's own subclasses (KeyNotFoundError...) may lack the attributes.
        code = getattr(error, "code", None) or 0
        return getattr(error, "err_code", None) in _UNAVAILABLE_CODES or code >= 500
    if isinstance(error, RuntimeError) and _CLOSED_UVLOOP_TRANSPORT in str(error):
        return True  # the connection was lost under the write: nats-py reconnects
    return isinstance(error, (SubjectBusy, *_CONNECTION_ERRORS))


class Backoff:
    """Waits between tries: short at first (a leader election takes a few seconds), then at most `cap`."""

    def __init__(self, first: float = 0.1, cap: float = 2.0) -> None:
        self.next_wait = first
        self.cap = cap

    def next(self) -> float:
        wait, self.next_wait = self.next_wait, min(self.cap, self.next_wait * 2)
        return wait
