"""A record of every blueprint run, like DevLake's `_devlake_pipelines`, in the lake database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Optional

from ingestion.database import Database

from .errors import InputError

TABLE = "_devlake_pipelines"
RUNNING, COMPLETED, FAILED = "TASK_RUNNING", "TASK_COMPLETED", "TASK_FAILED"
_DDL = f"""
CREATE TABLE IF NOT EXISTS `{TABLE}` (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    blueprint_name VARCHAR(255) NOT NULL,
    status VARCHAR(32) NOT NULL,
    began_at DATETIME(3) NOT NULL,
    finished_at DATETIME(3) NULL,
    message TEXT NULL,
    incidents BIGINT NOT NULL DEFAULT 0,
    deployments BIGINT NOT NULL DEFAULT 0,
    requests BIGINT NOT NULL DEFAULT 0,
    dbt_result VARCHAR(255) NULL,
    KEY ix_blueprint (blueprint_name, id)
) CHARACTER SET utf8mb4
"""
_COLUMNS = (
    "id",
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


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class PipelineRecord:
    database: Database
    id: int

    @classmethod
    def begin(cls, database: Database, blueprint_name: str) -> PipelineRecord:
        database.ensure_databases()
        with database.connect(database.name) as conn, conn.cursor() as cur:
            cur.execute(_DDL)
            cur.execute(
                f"INSERT INTO `{TABLE}` (blueprint_name, status, began_at) VALUES (%s, %s, %s)",
                (blueprint_name, RUNNING, _now()),
            )
            return cls(database, int(cur.lastrowid))

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
                (status, _now(), message, incidents, deployments, requests, dbt_result, self.id),
            )


def list_pipelines(
    database: Database, pipeline_id: Optional[int] = None, limit: int = 20
) -> list[dict[str, Any]]:
    database.ensure_databases()
    with database.connect(database.name) as conn, conn.cursor() as cur:
        cur.execute(_DDL)
        if pipeline_id is None:
            cur.execute(f"SELECT {', '.join(_COLUMNS)} FROM `{TABLE}` ORDER BY id DESC LIMIT %s", (limit,))
        else:
            cur.execute(f"SELECT {', '.join(_COLUMNS)} FROM `{TABLE}` WHERE id = %s", (pipeline_id,))
        rows = [dict(zip(_COLUMNS, row, strict=True)) for row in cur.fetchall()]
    if pipeline_id is not None and not rows:
        raise InputError(f"no pipeline with id {pipeline_id}")
    return rows
