"""The server's pipeline runner: a blueprint's pipeline runs in the background, one per blueprint at a time
and at most API_MAX_PIPELINES in all (scheduler.py triggers it on cronConfig)."""

from __future__ import annotations

import threading
from typing import Any, Optional

from ingestion.database import Database

from ..blueprints import Blueprint, parse_blueprint
from ..connections.store import ConnectionStore
from ..errors import InputError
from ..orchestration import SyncPolicy, run_blueprint
from ..output import out
from ..pipeline_records import CREATED, FAILED, PipelineRecord, fail_abandoned
from ..settings import Settings
from .blueprint_store import BlueprintStore, body_of


class AlreadyRunning(Exception):
    def __init__(self, pipeline_id: int) -> None:
        super().__init__(f"a pipeline of this blueprint is running already (id {pipeline_id})")
        self.pipeline_id = pipeline_id


class TooManyPipelines(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} pipelines are running, the most this server runs at once; try again later")
        self.limit = limit


def validate_body(body: Any, database: Database, settings: Settings, force: bool = True) -> Blueprint:
    """A blueprint body as DevLake takes it, checked against the saved connections."""
    return parse_blueprint(body, ConnectionStore(database, settings.environ).specs(), force=force)


class PipelineRunner:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.blueprints = BlueprintStore(database, settings.server.max_blueprints)
        self.max_running = settings.server.max_pipelines
        self._lock = threading.Lock()
        self._running: dict[int, PipelineRecord] = {}  # blueprint id -> its pipeline's record

    def trigger(self, blueprint_id: int, sync: SyncPolicy = SyncPolicy()) -> int:
        """Start a pipeline of the blueprint in the background and return its id at once."""
        stored = self.blueprints.get(blueprint_id)
        with self._lock:
            if blueprint_id in self._running:
                raise AlreadyRunning(self._running[blueprint_id].id)
            if len(self._running) >= self.max_running:
                raise TooManyPipelines(self.max_running)
            record = PipelineRecord.begin(
                self.database,
                stored["name"],
                blueprint_id,
                status=CREATED,
                full_sync=sync.full_sync,
                skip_collectors=sync.skip_collectors,
            )
            self._running[blueprint_id] = record
        try:
            thread = threading.Thread(
                target=self._execute,
                args=(blueprint_id, body_of(stored), record, sync),
                daemon=True,
                name=f"pipeline-{record.id}",
            )
            thread.start()
        except BaseException as exc:
            with self._lock:
                self._running.pop(blueprint_id, None)
            record.finish(FAILED, message=f"could not start: {type(exc).__name__}")
            raise
        return record.id

    def _execute(
        self, blueprint_id: int, body: dict[str, Any], record: PipelineRecord, sync: SyncPolicy
    ) -> None:
        try:
            blueprint = validate_body(body, self.database, self.settings)
            run_blueprint(
                blueprint, self.database, quiet=True, record=record, settings=self.settings, sync=sync
            )
        except InputError as exc:
            record.finish(FAILED, message=str(exc).replace("\n", "; ")[:2000])
        except Exception as exc:  # noqa: BLE001 - a pipeline's failure is recorded, never kills the server
            out.error(f"pipeline {record.id}: {type(exc).__name__}: {exc}")
            record.finish(FAILED, message=f"{type(exc).__name__}: {exc}"[:2000])
        finally:
            with self._lock:
                self._running.pop(blueprint_id, None)

    def abandon(self) -> None:
        """The server is stopping: its pipelines in flight are recorded as failed (their loads were not
        committed, so the next run fetches what they missed)."""
        with self._lock:
            fail_abandoned(self.database, [record.id for record in self._running.values()])

    def running(self, blueprint_id: int) -> Optional[int]:
        with self._lock:
            record = self._running.get(blueprint_id)
            return record.id if record else None

    def skip_tick(self, blueprint_id: int) -> None:
        """A scheduled tick came while this blueprint's pipeline ran: runs never overlap, so the tick is
        skipped, and the running pipeline's record will say how many were."""
        with self._lock:
            record = self._running.get(blueprint_id)
            if record is not None:
                record.skipped_ticks += 1
