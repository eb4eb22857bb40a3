"""The server's scheduler: enabled, non-manual blueprints are triggered when their cronConfig fires."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, Optional

from ..cron import is_manual, next_fire
from ..errors import InputError
from ..output import out
from .pipeline_runner import AlreadyRunning, PipelineRunner, TooManyPipelines


class Scheduler:
    """Triggers enabled, non-manual blueprints when their cronConfig fires (checked every half second).

    Each blueprint is handled on its own: whatever goes wrong with one (an expression that never fires, a
    failed trigger) is logged once, shown on it as `scheduleError`, and never stops the others."""

    def __init__(self, runner: PipelineRunner) -> None:
        self.runner = runner
        self._stop = threading.Event()
        self._next: dict[int, tuple[str, datetime]] = {}
        self._errors: dict[int, str] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="scheduler")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def error(self, blueprint_id: int) -> Optional[str]:
        """Why the schedule of this blueprint is not running as it should, or None."""
        with self._lock:
            return self._errors.get(blueprint_id)

    def _record(self, blueprint_id: int, message: Optional[str]) -> None:
        with self._lock:
            before = self._errors.get(blueprint_id)
            if message is None:
                self._errors.pop(blueprint_id, None)
            else:
                self._errors[blueprint_id] = message
        if message is not None and message != before:
            out.error(f"scheduler: blueprint {blueprint_id}: {message}", event="schedule_error")

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.tick(datetime.now(UTC))
            except Exception as exc:  # noqa: BLE001 - reading the blueprints failed; the next tick retries
                out.error(f"scheduler: {type(exc).__name__}: {exc}")

    def tick(self, now: datetime) -> None:
        seen = set()
        for blueprint in self.runner.blueprints.all():
            seen.add(blueprint["id"])
            try:
                self._tick_one(blueprint, now)
            except Exception as exc:  # noqa: BLE001 - one blueprint's trouble never stops another's schedule
                self._record(blueprint["id"], f"{type(exc).__name__}: {exc}"[:500])
        for gone in set(self._next) - seen:
            del self._next[gone]
        with self._lock:
            for gone in set(self._errors) - seen:
                del self._errors[gone]

    def _tick_one(self, blueprint: dict[str, Any], now: datetime) -> None:
        blueprint_id = blueprint["id"]
        cron = str(blueprint.get("cronConfig") or "manual").strip()
        # only JSON booleans schedule: "false" or 0 saved by an earlier version never fire a blueprint
        if blueprint.get("enable", True) is not True or blueprint.get("isManual", True) is not False:
            cron = "manual"
        if is_manual(cron):
            self._next.pop(blueprint_id, None)
            self._record(blueprint_id, None)
            return
        known = self._next.get(blueprint_id)
        if known is None or known[0] != cron:
            try:
                self._next[blueprint_id] = (cron, next_fire(cron, now))
            except InputError as exc:
                self._next.pop(blueprint_id, None)
                self._record(blueprint_id, f"not scheduled: {exc}")
                return
            self._record(blueprint_id, None)
            return
        if now < known[1]:
            return
        try:
            self._next[blueprint_id] = (cron, next_fire(cron, now))
        except InputError as exc:
            self._next.pop(blueprint_id, None)
            self._record(blueprint_id, f"not scheduled: {exc}")
            return
        try:
            self.runner.trigger(blueprint_id)
        except AlreadyRunning:
            self.runner.skip_tick(blueprint_id)  # runs of a blueprint never overlap: the tick is skipped
        except TooManyPipelines as exc:
            self._record(blueprint_id, f"tick at {now:%Y-%m-%dT%H:%M:%SZ} skipped: {exc}")
            return
        self._record(blueprint_id, None)
