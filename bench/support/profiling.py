"""py-spy profiles of a bench's service processes, when BENCH_PROFILE names a directory.

    BENCH_PROFILE=/tmp/profiles .venv/bin/python bench/dispatch.py
    .venv/bin/python -m bench.support.profiling /tmp/profiles/dispatch.txt

Each profiled process gets `<dir>/<name>.txt` in py-spy's raw (collapsed stack) format; the module
run as a script prints the frames that take the most samples, on their own (the CPU spent in the
frame itself) and with what they call, which is what bench/README.md shows for each bench.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

SAMPLES_PER_SECOND = 200
OUR_CODE = "services/"
ENTRY_POINTS = ("services/cli/main.py", "services/core/event_loop.py")  # under everything: they say nothing


class Profile:
    """Samples one process (by pid) from `start` until `stop`; nothing at all without BENCH_PROFILE."""

    def __init__(self, name: str, pid: int) -> None:
        directory = os.environ.get("BENCH_PROFILE", "")
        self.output = Path(directory) / f"{name}.txt" if directory else None
        self.pid = pid
        self._recorder: subprocess.Popen | None = None

    def start(self) -> "Profile":
        if self.output is None:
            return self
        self.output.parent.mkdir(parents=True, exist_ok=True)
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self._recorder = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(self.pid),
                "--format",
                "raw",
                "--rate",
                str(SAMPLES_PER_SECOND),
                "--nonblocking",
                "--gil",
                "-o",
                str(self.output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def stop(self) -> None:
        if self._recorder is None:
            return
        self._recorder.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            self._recorder.wait(30)
        except subprocess.TimeoutExpired:
            self._recorder.kill()
        print(f"profile of {self.output.stem}: {self.output}", file=sys.stderr)


def top_frames(collapsed: str, count: int = 15) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """(samples, frames by their own samples, frames by inclusive samples) of a raw py-spy profile."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        frames = [_function(frame) for frame in stack.split(";")]
        total += int(samples)
        own[frames[-1]] += int(samples)
        for frame in set(frames):
            if OUR_CODE in frame and not any(entry in frame for entry in ENTRY_POINTS):
                inclusive[frame] += int(samples)
    return total, own.most_common(count), inclusive.most_common(count)


def _function(frame: str) -> str:
    """`send (services/dispatch/smtp.py:120)` -> `send (services/dispatch/smtp.py)`: a function, not a line."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0] or where.rstrip(")")
    for marker in ("site-packages/", "python3.11/", "/work/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def summary(path: Path, count: int = 15) -> str:
    total, own, inclusive = top_frames(path.read_text(errors="replace"), count)
    if not total:
        return f"{path}: no samples"
    lines = [f"{path.stem}: {total} samples", "  own time:"]
    lines += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in own]
    lines.append("  Postroom's functions, with what they call:")
    lines += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive]
    return "\n".join(lines)


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(summary(Path(argument)))
