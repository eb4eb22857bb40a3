"""Progress lines on long loads: at most one every few seconds, on stderr, so stdout stays the summary."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ingestion.pagerduty import LoadStats


class ProgressPrinter:
    def __init__(self, label: str, every_seconds: float = 2.0, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.every = every_seconds
        self.stream = stream
        self.started = time.monotonic()
        self.last = self.started

    def __call__(self, stats: LoadStats, requests: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        rate = stats.incidents / max(now - self.started, 1e-9)
        print(
            f"{self.label}: {stats.incidents:,} incidents collected, {requests:,} requests ({rate:,.0f}/s)",
            file=self.stream,
            flush=True,
        )
