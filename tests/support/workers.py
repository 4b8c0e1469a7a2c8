"""Which pytest-xdist worker this is, so that what workers share (PostgreSQL, loopback addresses)
is split between them. A run without xdist is worker 0."""

from __future__ import annotations

import os
import re

# Tests that start suites of processes, kill them or time what they do run one at a time within
# their group: the suites and clusters of tests/e2e in one, the single-service fault tests of
# tests/integration in the other. The two groups run beside each other (and beside the rest).
SUITES_GROUP = "suites"
FAULTS_GROUP = "faults"


def worker_name() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def worker_index() -> int:
    found = re.fullmatch(r"gw(\d+)", worker_name())
    return int(found.group(1)) if found else 0


# Each worker's own loopback ports for the servers its tests start (free_port), below Linux's
# ephemeral range (32768 and up), from which the kernel picks for bind(0) and outgoing connections.
WORKER_PORTS_FIRST, WORKER_PORTS_END = 10000, 32768


def worker_ports() -> tuple[int, int] | None:
    """This worker's range of ports (first, last); None outside xdist (the kernel picks)."""
    if not worker_name():
        return None
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    size = (WORKER_PORTS_END - WORKER_PORTS_FIRST) // max(1, workers)
    first = WORKER_PORTS_FIRST + worker_index() * size
    return first, first + size - 1
