"""Running blueprints for the API: one pipeline per blueprint at a time and at most `max_running` in all, in
the background, and the cron schedule of enabled, non-manual blueprints."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Optional

from ingestion.database import Database

from ..blueprint import Blueprint, parse_blueprint
from ..cli import run_blueprint
from ..connection_store import ConnectionStore
from ..cron import is_manual, next_fire
from ..errors import InputError
from ..output import out
from ..pipeline_records import CREATED, FAILED, PipelineRecord, fail_abandoned
from .blueprint_store import BlueprintStore, body_of
from .settings import DEFAULT_MAX_PIPELINES


class AlreadyRunning(Exception):
    def __init__(self, pipeline_id: int) -> None:
        super().__init__(f"a pipeline of this blueprint is running already (id {pipeline_id})")
        self.pipeline_id = pipeline_id


class TooManyPipelines(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} pipelines are running, the most this server runs at once; try again later")
        self.limit = limit


def validate_body(body: Any, database: Database, force: bool = True) -> Blueprint:
    """A blueprint body as DevLake takes it, checked against the saved connections."""
    return parse_blueprint(body, ConnectionStore(database).specs(), force=force)


class PipelineRunner:
    def __init__(
        self,
        database: Database,
        run: Callable[..., int] = run_blueprint,
        max_running: int = DEFAULT_MAX_PIPELINES,
    ) -> None:
        self.database = database
        self.blueprints = BlueprintStore(database)
        self.max_running = max_running
        self._run = run
        self._lock = threading.Lock()
        self._running: dict[int, int] = {}  # blueprint id -> pipeline id

    def trigger(self, blueprint_id: int) -> int:
        """Start a pipeline of the blueprint in the background and return its id at once."""
        stored = self.blueprints.get(blueprint_id)
        with self._lock:
            if blueprint_id in self._running:
                raise AlreadyRunning(self._running[blueprint_id])
            if len(self._running) >= self.max_running:
                raise TooManyPipelines(self.max_running)
            record = PipelineRecord.begin(self.database, stored["name"], blueprint_id, status=CREATED)
            self._running[blueprint_id] = record.id
        try:
            thread = threading.Thread(
                target=self._execute,
                args=(blueprint_id, body_of(stored), record),
                daemon=True,
                name=f"pipeline-{record.id}",
            )
            thread.start()
        except BaseException as exc:
            with self._lock:
                self._running.pop(blueprint_id, None)
            record.finish(FAILED, f"could not start: {type(exc).__name__}", 0, 0, 0, None)
            raise
        return record.id

    def _execute(self, blueprint_id: int, body: dict[str, Any], record: PipelineRecord) -> None:
        try:
            blueprint = validate_body(body, self.database)
            self._run(blueprint, self.database, quiet=True, record=record)
        except InputError as exc:
            record.finish(FAILED, str(exc).replace("\n", "; ")[:2000], 0, 0, 0, None)
        except Exception as exc:  # noqa: BLE001 - a pipeline's failure is recorded, never kills the server
            out.error(f"pipeline {record.id}: {type(exc).__name__}: {exc}")
            record.finish(FAILED, f"{type(exc).__name__}: {exc}"[:2000], 0, 0, 0, None)
        finally:
            with self._lock:
                self._running.pop(blueprint_id, None)

    def abandon(self) -> None:
        """The server is stopping: its pipelines in flight are recorded as failed (their loads were not
        committed, so the next run fetches what they missed)."""
        with self._lock:
            fail_abandoned(self.database, list(self._running.values()))

    def running(self, blueprint_id: int) -> Optional[int]:
        with self._lock:
            return self._running.get(blueprint_id)


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
        if blueprint.get("enable") is False or blueprint.get("isManual", True) or is_manual(cron):
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
            pass  # one pipeline per blueprint at a time: this tick is skipped
        except TooManyPipelines as exc:
            self._record(blueprint_id, f"tick at {now:%Y-%m-%dT%H:%M:%SZ} skipped: {exc}")
            return
        self._record(blueprint_id, None)
