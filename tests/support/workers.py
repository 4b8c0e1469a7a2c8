"""Which pytest-xdist worker this is, so that what workers share (PostgreSQL, loopback addresses)
is split between them. A run without xdist is worker 0."""

from __future__ import annotations

import os
import re

# Tests that start processes, kill them or time what they do run on one worker, one at a time:
# beside each other on two cores they would measure each other.
SERIAL_GROUP = "processes"


def worker_name() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def worker_index() -> int:
    found = re.fullmatch(r"gw(\d+)", worker_name())
    return int(found.group(1)) if found else 0
