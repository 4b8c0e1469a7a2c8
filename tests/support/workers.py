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
