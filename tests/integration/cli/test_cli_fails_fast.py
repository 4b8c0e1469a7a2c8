"""The real `postroom` command, run as a person runs it, with nothing to talk to: every command that
needs NATS or a service ends within 5 s of starting, non-zero, with one line saying what it tried and
what to do. "Of starting": Python's own start-up (imports, 1-3 s depending on the machine) is timed in
the same run, as `postroom --help`, and not counted."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import time

import pytest

from services.core.nats_server import free_port, nats_server_binary
from services.core.settings import SERVICES

NATS_COMMANDS = [["replay", "config"], ["events", "tail"], ["cluster"], ["status"]]
SERVICE_COMMANDS = {
    "config": [["provider", "list", "--account", "a"], ["provider", "get", "--account", "a", "--provider", "p"]],
    "dispatch": [
        ["send", "--account", "a", "--provider", "p", "--to", "x@example.com", "--text", "hi"],
        ["suppression", "--account", "a"],
    ],
    "unsubscribe": [
        ["unsubscribe", "--account", "a", "--email", "x@example.com"],
        ["resubscribe", "--account", "a", "--email", "x@example.com"],
        ["unsubscribe", "status", "--account", "a", "--email", "x@example.com"],
        ["status", "--account", "a", "--email", "x@example.com"],
    ],
}


@pytest.fixture
def silent_port():
    """A port that accepts connections and never says a word (a hung server, a wrong host)."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield listener.getsockname()[1]
    listener.close()


def environment(tmp_path, nats_port: int, grpc_port: int | None = None) -> dict[str, str]:
    env = dict(
        os.environ,
        POSTROOM_DATA_DIR=str(tmp_path),
        POSTROOM_API_TOKEN="some-token",
        POSTROOM_NATS_URL=f"nats://127.0.0.1:{nats_port}",
    )
    for name in SERVICES:
        env[f"POSTROOM_{name.upper()}_GRPC_PORT"] = str(grpc_port or free_port())
    return env


def run_postroom(arguments: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    """The command's outcome, and the seconds it took beyond the command's start-up."""
    done, seconds = _timed(arguments, env)
    return done, seconds - _start_up_seconds()


@functools.cache
def _start_up_seconds() -> float:
    """How long `postroom` takes to start on this machine: the command with nothing to wait for."""
    return _timed(["--help"], dict(os.environ))[1]


def _timed(arguments: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    return done, time.monotonic() - started


def assert_one_line_within_5_s(done: subprocess.CompletedProcess, seconds: float, names: str) -> None:
    notice = "`postroom status --account A --email E` is now"  # the old form says where it moved, then fails
    lines = [line for line in done.stderr.splitlines() if line.strip() and notice not in line]
    assert done.returncode != 0 and seconds < 5, (done.returncode, seconds, done.stderr)
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("cannot reach") and names in lines[0] and "make run" in lines[0], lines[0]
    assert "nats error" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("arguments", NATS_COMMANDS, ids=" ".join)
def test_commands_that_need_nats_end_fast_when_nothing_listens(tmp_path, arguments):
    port = free_port()
    done, seconds = run_postroom(arguments, environment(tmp_path, port))
    assert_one_line_within_5_s(done, seconds, f"NATS at nats://127.0.0.1:{port}")


@pytest.mark.parametrize("arguments", [["cluster"], ["replay", "config"]], ids=" ".join)
def test_commands_that_need_nats_end_fast_when_it_never_answers(tmp_path, silent_port, arguments):
    done, seconds = run_postroom(arguments, environment(tmp_path, silent_port))
    assert_one_line_within_5_s(done, seconds, f"NATS at nats://127.0.0.1:{silent_port}")


@pytest.mark.parametrize(
    ("service", "arguments"),
    [(service, arguments) for service, commands in SERVICE_COMMANDS.items() for arguments in commands],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_commands_that_need_a_service_end_fast_when_it_is_down(tmp_path, service, arguments):
    env = environment(tmp_path, free_port())
    done, seconds = run_postroom(arguments, env)
    assert_one_line_within_5_s(
        done, seconds, f"the {service} service at 127.0.0.1:{env[f'POSTROOM_{service.upper()}_GRPC_PORT']}"
    )


def test_a_service_that_never_answers_ends_the_command_fast(tmp_path, silent_port):
    done, seconds = run_postroom(
        ["provider", "list", "--account", "a"], environment(tmp_path, free_port(), silent_port)
    )
    assert_one_line_within_5_s(done, seconds, f"the config service at 127.0.0.1:{silent_port}")


def test_a_nats_without_jetstream_is_named_in_one_line(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_listening(port)
        done, seconds = run_postroom(["cluster"], environment(tmp_path, port))
    finally:
        server.terminate()
        server.wait(10)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and seconds < 5 and len(lines) == 1, done.stderr
    assert "answers but its JetStream does not" in lines[0] and "-js" in lines[0], lines[0]


def wait_until_listening(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nats-server on {port}")
