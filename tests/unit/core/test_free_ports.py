"""free_port() within a range: ports in turn, never one something is bound to."""

import socket

import pytest

from services.core import nats_server
from services.core.nats_server import bindable, free_port, take_ports_from


@pytest.fixture
def port_range():
    """Three consecutive ports nothing listens on, as this test's range; the worker's range after."""
    kept = nats_server._port_range
    first = next(port for port in range(20000, 30000, 3) if all(bindable(port + i) for i in range(3)))
    take_ports_from(first, first + 2)
    yield first
    nats_server._port_range = kept


def test_ports_come_in_turn_and_wrap_around(port_range):
    assert [free_port() for _ in range(4)] == [port_range, port_range + 1, port_range + 2, port_range]


def test_a_bound_port_is_skipped(port_range):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port_range))
        taken.listen()
        assert [free_port() for _ in range(2)] == [port_range + 1, port_range + 2]


def test_a_range_all_taken_is_an_error_naming_it(port_range):
    sockets = [socket.socket() for _ in range(3)]
    try:
        for offset, sock in enumerate(sockets):
            sock.bind(("127.0.0.1", port_range + offset))
        with pytest.raises(OSError, match=f"no free loopback port in {port_range}-{port_range + 2}"):
            free_port()
    finally:
        for sock in sockets:
            sock.close()
