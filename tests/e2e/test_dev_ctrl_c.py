"""Ctrl-C on `make run`, at a real terminal (a pseudo-terminal): everything stops and make exits 0."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

from services.core.nats_server import free_port
from services.core.settings import SERVICES
from tests.support.smtp import unused_loopback_host

ROOT = Path(__file__).resolve().parents[2]


def _become_terminal_session(terminal: int):
    def setup() -> None:  # a login shell's job: its own session, the pty its controlling terminal
        os.setsid()
        fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)
        # A terminal's shell starts with Ctrl-C and Ctrl-\ at their defaults. pytest started in the
        # background of a non-interactive shell (`make test &`, a CI runner's job) has both
        # ignored, and an ignored signal stays ignored through exec: postroom dev would inherit
        # that and never hear the Ctrl-C (Python keeps a SIGINT it finds ignored at start-up).
        for signum in (signal.SIGINT, signal.SIGQUIT):
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())

    return setup


def read_until(master: int, text: str, timeout: float) -> str:
    seen, deadline = "", time.monotonic() + timeout
    while text not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                seen += os.read(master, 65536).decode(errors="replace")
            except OSError:
                break
    return seen


def test_ctrl_c_stops_the_suite_and_make_exits_0(tmp_path):
    makefile = tmp_path / "Makefile"
    makefile.write_text(f"run:\n\t{sys.executable} -m services.cli.main dev\n")
    ports = {f"POSTROOM_{name.upper()}_GRPC_PORT": str(free_port()) for name in SERVICES}
    env = dict(
        os.environ,
        **ports,
        POSTROOM_FEEDBACK_HTTP_PORT=str(free_port()),
        POSTROOM_UNSUBSCRIBE_HTTP_PORT=str(free_port()),
        POSTROOM_NATS_PORT=str(free_port()),
        POSTROOM_SIM_WEB_PORT=str(free_port()),
        POSTROOM_SIM_SNS_HTTPS_PORT=str(free_port()),
        POSTROOM_SIM_HOST=unused_loopback_host(2587),
        POSTROOM_METRICS_PORT="0",
        POSTROOM_DATA_DIR=str(tmp_path / "data"),
        POSTROOM_SHUTDOWN_GRACE="2",
        PYTHONPATH=str(ROOT),
    )
    env.pop("POSTROOM_NATS_URL", None)
    master, terminal = pty.openpty()
    shell = subprocess.Popen(
        ["sh", "-c", f"make -s -f {makefile} run; echo make-exit=$?"],
        cwd=tmp_path,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        preexec_fn=_become_terminal_session(terminal),
    )
    os.close(terminal)
    try:
        started = read_until(master, "Postroom is running", 90)
        assert "Postroom is running" in started, started[-3000:]
        os.write(master, b"\x03")  # Ctrl-C, as the terminal's line discipline sends it
        stopped = read_until(master, "make-exit=", 60)
        assert "make-exit=" in stopped, (
            f"not stopped within 60 s: {stopped[-1500:]}\n{_terminal_state(master)}\n{_still_running(shell.pid)}"
            f"\nthis test's process: {_signal_state(os.getpid())}"
        )
        shell.wait(30)
    finally:
        # The shell leads its own session: whatever of it is left (make, dev, the services in their
        # own process groups) goes with it, so a failure here leaves nothing running.
        subprocess.run(["pkill", "-KILL", "-s", str(shell.pid)], check=False)
        shell.wait(10)
        os.close(master)
    assert "make-exit=0" in stopped, (shell.returncode, stopped[-600:])
    assert "postroom: stopped" in stopped and "exited with" not in stopped and "Error" not in stopped, stopped[-3000:]


def _terminal_state(master: int) -> str:
    flags = termios.tcgetattr(master)[3]
    return f"foreground group {os.tcgetpgrp(master)}, ISIG {'on' if flags & termios.ISIG else 'off'}"


def _signal_state(pid: int) -> str:
    """Which signals the process blocks, ignores and catches (hex masks, bit n-1 for signal n)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "gone"
    return " ".join(line.replace("\t", "") for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


def _still_running(session: int) -> str:
    """What of the session is left, and where each Python process of it is (py-spy, a dev dependency)."""
    listing = subprocess.run(
        ["ps", "-s", str(session), "-o", "pid=,pgid=,stat=,args="], capture_output=True, text=True
    ).stdout
    report = [listing]
    for line in listing.splitlines():
        pid, _, command = line.strip().partition(" ")
        report.append(f"{pid}: {_signal_state(int(pid))}")
        if "python" in command:
            spy = Path(sys.executable).with_name("py-spy")
            dump = subprocess.run([str(spy), "dump", "--pid", pid], capture_output=True, text=True, timeout=30)
            report.append(dump.stdout + dump.stderr)
    return "\n".join(report)
