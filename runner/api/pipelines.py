"""Running blueprints for the API: one pipeline per blueprint at a time, in the background, and the cron
schedule of enabled, non-manual blueprints."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Optional

from ingestion.database import Database

from ..blueprint import Blueprint, parse_blueprint
from ..cli import run_blueprint
from ..connection_store import ConnectionStore
from ..cron import next_fire
from ..errors import InputError
from ..output import out
from ..pipeline_records import CREATED, FAILED, PipelineRecord, fail_abandoned
from .blueprint_store import BlueprintStore, body_of


class AlreadyRunning(Exception):
    def __init__(self, pipeline_id: int) -> None:
        super().__init__(f"a pipeline of this blueprint is running already (id {pipeline_id})")
        self.pipeline_id = pipeline_id


def validate_body(body: Any, database: Database, force: bool = True) -> Blueprint:
    """A blueprint body as DevLake takes it, checked against the saved connections."""
    return parse_blueprint(body, ConnectionStore(database).specs(), force=force)


class PipelineRunner:
    def __init__(self, database: Database, run: Callable[..., int] = run_blueprint) -> None:
        self.database = database
        self.blueprints = BlueprintStore(database)
        self._run = run
        self._lock = threading.Lock()
        self._running: dict[int, int] = {}  # blueprint id -> pipeline id

    def trigger(self, blueprint_id: int) -> int:
        """Start a pipeline of the blueprint in the background and return its id at once."""
        stored = self.blueprints.get(blueprint_id)
        with self._lock:
            if blueprint_id in self._running:
                raise AlreadyRunning(self._running[blueprint_id])
            record = PipelineRecord.begin(self.database, stored["name"], blueprint_id, status=CREATED)
            self._running[blueprint_id] = record.id
        thread = threading.Thread(
            target=self._execute,
            args=(blueprint_id, body_of(stored), record),
            daemon=True,
            name=f"pipeline-{record.id}",
        )
        thread.start()
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
    """Triggers enabled, non-manual blueprints when their cronConfig fires (checked every second)."""

    def __init__(self, runner: PipelineRunner) -> None:
        self.runner = runner
        self._stop = threading.Event()
        self._next: dict[int, tuple[str, datetime]] = {}
        self._thread = threading.Thread(target=self._loop, daemon=True, name="scheduler")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.tick(datetime.now(UTC))
            except Exception as exc:  # noqa: BLE001 - the schedule keeps going
                out.error(f"scheduler: {type(exc).__name__}: {exc}")

    def tick(self, now: datetime) -> None:
        seen = set()
        for blueprint in self.runner.blueprints.all():
            cron = str(blueprint.get("cronConfig") or "manual").strip()
            if (
                blueprint.get("enable") is False
                or blueprint.get("isManual", True)
                or cron.lower() == "manual"
            ):
                continue
            seen.add(blueprint["id"])
            known = self._next.get(blueprint["id"])
            if known is None or known[0] != cron:
                try:
                    self._next[blueprint["id"]] = (cron, next_fire(cron, now))
                except InputError:
                    pass  # validated when saved; an expression croniter refuses never fires
                continue
            if now >= known[1]:
                try:
                    self.runner.trigger(blueprint["id"])
                except AlreadyRunning:
                    pass  # one pipeline per blueprint at a time: this tick is skipped
                self._next[blueprint["id"]] = (cron, next_fire(cron, now))
        for gone in set(self._next) - seen:
            del self._next[gone]
