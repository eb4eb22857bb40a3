"""A record of every blueprint run, like DevLake's `_devlake_pipelines`, in the lake database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ingestion.database import Database

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
    KEY ix_blueprint (blueprint_id, id)
) CHARACTER SET utf8mb4
"""
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
)


class UnknownPipeline(InputError):
    pass


def _connection(database: Database):
    """A connection to the lake database with the table in place (an older table gains blueprint_id)."""
    conn = connect_with_table(database, _DDL)
    with conn.cursor() as cur:
        cur.execute(f"SHOW COLUMNS FROM `{TABLE}` LIKE 'blueprint_id'")
        if not cur.fetchone():
            cur.execute(f"ALTER TABLE `{TABLE}` ADD COLUMN blueprint_id BIGINT UNSIGNED NULL AFTER id")
    return conn


@dataclass
class PipelineRecord:
    database: Database
    id: int

    @classmethod
    def begin(
        cls,
        database: Database,
        blueprint_name: str,
        blueprint_id: Optional[int] = None,
        status: str = RUNNING,
    ) -> PipelineRecord:
        with _connection(database) as conn, conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO `{TABLE}` (blueprint_id, blueprint_name, status, began_at)"
                " VALUES (%s, %s, %s, %s)",
                (blueprint_id, blueprint_name, status, utc_now()),
            )
            return cls(database, int(cur.lastrowid))

    def mark_running(self) -> None:
        with self.database.connect(self.database.name) as conn, conn.cursor() as cur:
            cur.execute(
                f"UPDATE `{TABLE}` SET status = %s, began_at = %s WHERE id = %s",
                (RUNNING, utc_now(), self.id),
            )

    def finish(
        self,
        status: str,
        message: Optional[str],
        incidents: int,
        deployments: int,
        requests: int,
        dbt_result: Optional[str],
    ) -> None:
        with self.database.connect(self.database.name) as conn, conn.cursor() as cur:
            cur.execute(
                f"UPDATE `{TABLE}` SET status = %s, finished_at = %s, message = %s, incidents = %s,"
                " deployments = %s, requests = %s, dbt_result = %s WHERE id = %s",
                (status, utc_now(), message, incidents, deployments, requests, dbt_result, self.id),
            )


def fail_abandoned(database: Database, pipeline_ids: Optional[list[int]] = None) -> int:
    """Pipelines a server left created or running (it died, or stopped mid-run): marked failed, never waited
    on. Without ids, every pipeline the API started (those with a blueprint id); runs started by `run.py
    run` or `schedule`, which have none, are not the server's to judge."""
    if pipeline_ids is None:
        scope, ids = "blueprint_id IS NOT NULL", []
    elif not pipeline_ids:
        return 0
    else:
        scope, ids = f"id IN ({', '.join(['%s'] * len(pipeline_ids))})", list(pipeline_ids)
    message = "the server stopped while this pipeline ran"
    with _connection(database) as conn, conn.cursor() as cur:
        cur.execute(
            f"UPDATE `{TABLE}` SET status = %s, finished_at = %s, message = %s"
            f" WHERE status IN (%s, %s) AND {scope}",
            (FAILED, utc_now(), message, CREATED, RUNNING, *ids),
        )
        return cur.rowcount


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
    with _connection(database) as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM `{TABLE}`{clause} ORDER BY id DESC LIMIT %s", (*args, limit)
        )
        rows = [dict(zip(_COLUMNS, row, strict=True)) for row in cur.fetchall()]
    if pipeline_id is not None and not rows:
        raise UnknownPipeline(f"no pipeline with id {pipeline_id}")
    return rows
