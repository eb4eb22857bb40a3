"""Starting the PagerDuty simulator as a child process and waiting for its URL line."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import requests

SIM_TOKEN = "demo-token-not-secret"


@contextmanager
def simulator(*args: str) -> Iterator[str]:
    """Yield the base URL of a simulator started with `python -m simulator ARGS`, stopped afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--token", SIM_TOKEN, *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"the simulator did not start: {line!r}")
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def served_requests(url: str) -> int:
    """API requests the simulator served so far (its own count, independent of the loader's)."""
    return int(requests.get(f"{url}/_sim/stats", timeout=10).json()["requests"])


def reset_stats(url: str) -> None:
    requests.post(f"{url}/_sim/reset_stats", timeout=10)
