"""Named points in a run where a test can have the process stop dead.

Crash safety is tested by killing `run.py` with SIGKILL at chosen moments (mid-collection, mid-write of a raw
table, between tables, inside the completing transaction, between dbt models). When the environment variable
PAGERDUTY_DORA_PAUSE_AT names a checkpoint, the process prints `paused at <name>` on stderr when it reaches
it and waits there to be killed. `name#N` pauses at the N-th time the checkpoint is reached. Unset, a
checkpoint costs one dictionary look-up.

PAGERDUTY_DORA_CHUNK_ROWS, the other test hook, makes raw tables be written in smaller chunks, so that a
test can stop a process between two chunks of one table.
"""

from __future__ import annotations

import os
import sys
import threading
import time

ENV_VAR = "PAGERDUTY_DORA_PAUSE_AT"
_counts: dict[str, int] = {}
_lock = threading.Lock()


def checkpoint(name: str) -> None:
    wanted = os.environ.get(ENV_VAR)
    if not wanted:
        return
    target, _, nth = wanted.partition("#")
    if target != name:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        reached = _counts[name]
    if reached != (int(nth) if nth.isdigit() else 1):
        return
    print(f"paused at {wanted}", file=sys.stderr, flush=True)
    while True:  # until the test kills the process
        time.sleep(3600)


def chunk_rows(default: int = 5000) -> int:
    """Rows per raw write statement (see the module's doc)."""
    value = os.environ.get("PAGERDUTY_DORA_CHUNK_ROWS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default
