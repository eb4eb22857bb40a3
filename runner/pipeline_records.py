"""A record of every blueprint run, like DevLake's `_devlake_pipelines`, in the lake database.

A running record is owned by the process running it: that process holds a database lock named in the record
(`owner`) for as long as it runs, and a killed process loses the lock with its connection. A record left
created or running whose lock nobody holds belongs to a dead process, and is marked failed the next time
anyone looks (a run starting, the server starting, `pipelines list`), wherever the dead process ran.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

import pymysql

from ingestion.database import Database
from ingestion.pagerduty.upstream import printable

from .errors import InputError
from .lake_tables import connect_with_table, utc_now

TABLE = "_devlake_pipelines"
CREATED, RUNNING, COMPLETED, FAILED = "TASK_CREATED", "TASK_RUNNING", "TASK_COMPLETED", "TASK_FAILED"
_DDL = f"""
CREATE TABLE IF NOT EXISTS `{TABLE}` (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    blueprint_id BIGINT UNSIGNED NULL,
    blueprint_name VARCHAR(255) NOT NULL,
    status VARCHAR(32) NOT NULL,
    began_at DATETIME(3) NOT NULL,
    finished_at DATETIME(3) NULL,
    message TEXT NULL,
    incidents BIGINT NOT NULL DEFAULT 0,
    deployments BIGINT NOT NULL DEFAULT 0,
    requests BIGINT NOT NULL DEFAULT 0,
    dbt_result VARCHAR(255) NULL,
    owner VARCHAR(64) NULL,
    full_sync BOOLEAN NOT NULL DEFAULT FALSE,
    skip_collectors BOOLEAN NOT NULL DEFAULT FALSE,
    total_tasks INT NOT NULL DEFAULT 0,
    finished_tasks INT NOT NULL DEFAULT 0,
    stage VARCHAR(255) NULL,
    KEY ix_blueprint (blueprint_id, id),
    KEY ix_status (status)
) CHARACTER SET utf8mb4
"""
ABANDONED_MESSAGE = (
    "the process running this pipeline stopped before it finished (killed, or the server stopped)"
)
_COLUMNS = (
    "id",
    "blueprint_id",
    "blueprint_name",
    "status",
    "began_at",
    "finished_at",
    "message",
    "incidents",
    "deployments",
    "requests",
    "dbt_result",
    "full_sync",
    "skip_collectors",
    "total_tasks",
    "finished_tasks",
    "stage",
)


class UnknownPipeline(InputError):
    pass


def _connection(database: Database):
    """A connection to the lake database with the table in place (an older table gains its new columns)."""
    conn = connect_with_table(database, _DDL)
    with conn.cursor() as cur:
        for column, ddl in (
            ("blueprint_id", "BIGINT UNSIGNED NULL AFTER id"),
            ("owner", "VARCHAR(64) NULL"),
            ("full_sync", "BOOLEAN NOT NULL DEFAULT FALSE"),
            ("skip_collectors", "BOOLEAN NOT NULL DEFAULT FALSE"),
            ("total_tasks", "INT NOT NULL DEFAULT 0"),
            ("finished_tasks", "INT NOT NULL DEFAULT 0"),
            ("stage", "VARCHAR(255) NULL"),
        ):
            cur.execute(f"SHOW COLUMNS FROM `{TABLE}` LIKE %s", (column,))
            if not cur.fetchone():
                cur.execute(f"ALTER TABLE `{TABLE}` ADD COLUMN {column} {ddl}")
    return conn


def _owner_lock(owner: str) -> str:
    return f"pdd:pipeline:{owner}"


@dataclass
class PipelineRecord:
    database: Database
    id: int
    owner: str = ""
    _conn: Any = field(default=None, repr=False)
    skipped_ticks: int = 0
    """Scheduled ticks skipped while this pipeline ran (said in its message when it finishes)."""

    @classmethod
    def begin(
        cls,
        database: Database,
        blueprint_name: str,
        blueprint_id: Optional[int] = None,
        status: str = RUNNING,
        full_sync: bool = False,
        skip_collectors: bool = False,
    ) -> PipelineRecord:
        """A new record, owned by this process until finish() (see the module's doc), with DevLake's
        fullSync / skipCollectors of the run."""
        fail_abandoned(database)
        owner = uuid.uuid4().hex
        conn = _connection(database)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT GET_LOCK(%s, 0)", (_owner_lock(owner),))
                cur.execute(
                    f"INSERT INTO `{TABLE}` (blueprint_id, blueprint_name, status, began_at, owner,"
                    " full_sync, skip_collectors) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (blueprint_id, blueprint_name, status, utc_now(), owner, full_sync, skip_collectors),
                )
                return cls(database, int(cur.lastrowid), owner, conn)
        except BaseException:
            conn.close()
            raise

    def mark_running(self) -> None:
        with self.database.connect(self.database.name) as conn, conn.cursor() as cur:
            cur.execute(
                f"UPDATE `{TABLE}` SET status = %s, began_at = %s WHERE id = %s",
                (RUNNING, utc_now(), self.id),
            )

    def progress(
        self,
        stage: str,
        finished_tasks: Optional[int] = None,
        total_tasks: Optional[int] = None,
        message: Optional[str] = None,
    ) -> None:
        """Where a running pipeline is, as DevLake shows it (tasks done of all, the current stage), and what
        it last said (a retry, a phase), for `GET /pipelines/{id}` and `run.py pipelines show`."""
        sets, args = ["stage = %s"], [stage[:255]]
        for column, value in (("finished_tasks", finished_tasks), ("total_tasks", total_tasks)):
            if value is not None:
                sets.append(f"{column} = %s")
                args.append(value)
        if message is not None:
            sets.append("message = %s")
            args.append(message[:2000])
        with self.database.connect(self.database.name) as conn, conn.cursor() as cur:
            cur.execute(
                f"UPDATE `{TABLE}` SET {', '.join(sets)} WHERE id = %s AND status IN (%s, %s)",
                (*args, self.id, CREATED, RUNNING),
            )

    def finish(
        self,
        status: str,
        message: Optional[str] = None,
        incidents: int = 0,
        deployments: int = 0,
        requests: int = 0,
        dbt_result: Optional[str] = None,
    ) -> None:
        """The run's outcome; the record is no longer this process's. The message is kept on one line
        without control characters (it may quote an exception, and `pipelines list` prints it to a
        terminal)."""
        if self.skipped_ticks:
            note = f"{self.skipped_ticks} scheduled tick(s) skipped while this pipeline ran"
            message = f"{message}; {note}" if message else note
        if message is not None:
            message = printable(message)
        try:
            with self.database.connect(self.database.name) as conn, conn.cursor() as cur:
                cur.execute(
                    f"UPDATE `{TABLE}` SET status = %s, finished_at = %s, message = %s, incidents = %s,"
                    " deployments = %s, requests = %s, dbt_result = %s, stage = %s,"
                    " finished_tasks = CASE WHEN %s = %s THEN total_tasks ELSE finished_tasks END"
                    " WHERE id = %s",
                    (
                        status,
                        utc_now(),
                        message,
                        incidents,
                        deployments,
                        requests,
                        dbt_result,
                        "done" if status == COMPLETED else "failed",
                        status,
                        COMPLETED,
                        self.id,
                    ),
                )
        finally:
            self.release()

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except pymysql.err.Error:
                pass
            self._conn = None


def fail_abandoned(database: Database, pipeline_ids: Optional[list[int]] = None) -> int:
    """Records left created or running by a process that is gone (nobody holds their owner lock), or those
    of `pipeline_ids` (a server stopping mid-run), marked failed; returns how many."""
    with _connection(database) as conn, conn.cursor() as cur:
        if pipeline_ids is not None:
            if not pipeline_ids:
                return 0
            dead = list(pipeline_ids)
        else:
            cur.execute(f"SELECT id, owner FROM `{TABLE}` WHERE status IN (%s, %s)", (CREATED, RUNNING))
            dead = []
            for pipeline_id, owner in cur.fetchall():
                if owner:
                    cur.execute("SELECT IS_FREE_LOCK(%s)", (_owner_lock(owner),))
                    if cur.fetchone()[0] != 1:
                        continue
                dead.append(pipeline_id)
            if not dead:
                return 0
        cur.execute(
            f"UPDATE `{TABLE}` SET status = %s, finished_at = %s, message = %s"
            f" WHERE status IN (%s, %s) AND id IN ({', '.join(['%s'] * len(dead))})",
            (FAILED, utc_now(), ABANDONED_MESSAGE, CREATED, RUNNING, *dead),
        )
        return cur.rowcount


def last_full_sync(database: Database, blueprint_name: str) -> Optional[datetime]:
    """When the blueprint's latest completed full sync (reconcile) began, or None."""
    with _connection(database) as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT MAX(began_at) FROM `{TABLE}` WHERE blueprint_name = %s AND full_sync AND status = %s",
            (blueprint_name, COMPLETED),
        )
        row = cur.fetchone()
    return row[0] if row else None


def list_pipelines(
    database: Database,
    pipeline_id: Optional[int] = None,
    limit: int = 20,
    blueprint_id: Optional[int] = None,
    statuses: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    where: list[str] = []
    args: list[Any] = []
    if pipeline_id is not None:
        where.append("id = %s")
        args.append(pipeline_id)
    if blueprint_id is not None:
        where.append("blueprint_id = %s")
        args.append(blueprint_id)
    if statuses:
        where.append(f"status IN ({', '.join(['%s'] * len(statuses))})")
        args.extend(statuses)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    fail_abandoned(database)
    with _connection(database) as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM `{TABLE}`{clause} ORDER BY id DESC LIMIT %s", (*args, limit)
        )
        rows = [dict(zip(_COLUMNS, row, strict=True)) for row in cur.fetchall()]
    for row in rows:  # the database is not trusted to hold only what this version wrote
        for column in ("blueprint_name", "message"):
            if row[column] is not None:
                row[column] = printable(row[column])
    if pipeline_id is not None and not rows:
        raise UnknownPipeline(f"no pipeline with id {pipeline_id}")
    return rows
