"""Progress lines on long loads: at most one every few seconds, on stderr, so stdout stays the summary."""

from __future__ import annotations

import time

from ingestion.pagerduty import LoadStats

from .output import out


class ProgressPrinter:
    def __init__(self, label: str, every_seconds: float = 2.0) -> None:
        self.label = label
        self.every = every_seconds
        self.started = time.monotonic()
        self.last = self.started

    def __call__(self, stats: LoadStats, requests: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        rate = stats.incidents / max(now - self.started, 1e-9)
        out.progress(
            f"{self.label}: {stats.incidents:,} incidents collected, {requests:,} requests ({rate:,.0f}/s)",
            incidents=stats.incidents,
            requests=requests,
            rate=round(rate),
            connection=self.label,
        )
