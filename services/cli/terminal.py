"""The terminal's Ctrl-C, for a command that supervises children (`postroom dev` under `make run`).

A terminal sends SIGINT to its whole foreground process group: to make above us and to every child.
The children would stop on their own, out of order, and make would report an error for a clean stop.
So the supervisor takes the terminal's foreground in a process group of its own, its children run
in groups of their own, and Ctrl-C reaches the supervisor alone, which stops the children in order."""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def terminal_interrupts_only_this_process() -> Iterator[None]:
    terminal = _foreground_terminal()
    if terminal is None:
        yield
        return
    group_before = os.tcgetpgrp(terminal)
    os.setpgid(0, 0)
    with _background_terminal_calls_allowed():
        os.tcsetpgrp(terminal, os.getpgrp())
    try:
        yield
    finally:
        with _background_terminal_calls_allowed():
            try:
                os.tcsetpgrp(terminal, group_before)
            except OSError:
                pass  # that group has gone; the shell takes the terminal back when we exit


def _foreground_terminal() -> int | None:
    """stdin's terminal, when this process is in its foreground group and may lead a group of its own."""
    try:
        terminal = sys.stdin.fileno()
        if not os.isatty(terminal) or os.tcgetpgrp(terminal) != os.getpgrp() or os.getsid(0) == os.getpid():
            return None
    except (OSError, ValueError):
        return None
    return terminal


@contextmanager
def _background_terminal_calls_allowed() -> Iterator[None]:
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # else tcsetpgrp from a background group stops us
    try:
        yield
    finally:
        signal.signal(signal.SIGTTOU, previous)
