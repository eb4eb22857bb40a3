"""What a run tells people and orchestrators: text lines by default (progress, warnings and errors on
stderr, the summary on stdout), or with `--log-format json` one JSON object per line on stdout, each with
`time`, `level`, `event` and `message` and the event's own fields."""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from typing import Any


class Output:
    def __init__(self) -> None:
        self.json = False
        self.quiet = False
        self._lock = threading.Lock()

    def configure(self, log_format: str = "text", quiet: bool = False) -> None:
        self.json = log_format == "json"
        self.quiet = quiet

    def _emit(self, level: str, event: str, message: str, stream: Any, fields: dict[str, Any]) -> None:
        with self._lock:
            if self.json:
                record = {
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "level": level,
                    "event": event,
                    "message": message,
                    **fields,
                }
                print(json.dumps(record, default=str), file=sys.stdout, flush=True)
            else:
                prefix = {"warning": "warning: ", "error": "error: "}.get(level, "")
                print(prefix + message, file=stream, flush=True)

    def info(self, message: str, event: str = "info", **fields: Any) -> None:
        self._emit("info", event, message, sys.stdout, fields)

    def progress(self, message: str, event: str = "progress", **fields: Any) -> None:
        if not self.quiet:
            self._emit("info", event, message, sys.stderr, fields)

    def warning(self, message: str, event: str = "warning", **fields: Any) -> None:
        self._emit("warning", event, message, sys.stderr, fields)

    def error(self, message: str, event: str = "error", **fields: Any) -> None:
        self._emit("error", event, message, sys.stderr, fields)


out = Output()
