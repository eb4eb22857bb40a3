"""Deployments from outside PagerDuty (GitHub, Jenkins, Argo, ...) supplied as CSV, into `<lake>_raw`.

Columns (header row, any order): id, service_id, finished_at, result, environment, and optionally name,
started_at, connection_id. Times are ISO-8601 with a zone; result SUCCESS/FAILURE/...; environment
PRODUCTION/STAGING/... (only SUCCESS in PRODUCTION counts for DORA). Without connection_id a deployment
applies to the service of that id in every connection.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Optional

import dlt

from .database import Database
from .pipeline import throwaway_pipeline

REQUIRED = ("id", "service_id", "finished_at", "result", "environment")
OPTIONAL = ("name", "started_at", "connection_id")
TABLE = "deployments"

COLUMNS = {
    "row_key": {"data_type": "text", "precision": 320, "nullable": False},
    "id": {"data_type": "text", "precision": 255, "nullable": False},
    "connection_id": {"data_type": "bigint", "nullable": True},
    "service_id": {"data_type": "text", "precision": 64, "nullable": False},
    "name": {"data_type": "text", "nullable": True},
    "started_at": {"data_type": "timestamp", "nullable": True},
    "finished_at": {"data_type": "timestamp", "nullable": False},
    "result": {"data_type": "text", "precision": 32, "nullable": False},
    "environment": {"data_type": "text", "precision": 32, "nullable": False},
}


class DeploymentsFileError(ValueError):
    """The CSV cannot be loaded; the message names the line and column."""


@dataclass(frozen=True)
class DeploymentsFile:
    path: str
    rows: tuple[dict[str, Any], ...]


def _time(value: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DeploymentsFileError(f"{where}: {value!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise DeploymentsFileError(f"{where}: {value!r} has no time zone; add Z or an offset")
    return moment.astimezone(UTC)


def read_deployments(path: str) -> DeploymentsFile:
    """Read and check the whole file before anything is written."""
    try:
        handle = Path(path).open(newline="", encoding="utf-8")
    except OSError as exc:
        raise DeploymentsFileError(
            f"deployments file {path}: cannot be read ({exc.strerror or exc})"
        ) from None
    with handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise DeploymentsFileError(f"deployments file {path}: missing column(s) {', '.join(missing)}")
        rows: dict[str, dict[str, Any]] = {}
        for line, record in enumerate(reader, start=2):
            record = {(k or "").strip(): (v or "").strip() for k, v in record.items()}
            where = f"deployments file {path}, line {line}"
            for name in REQUIRED:
                if not record.get(name):
                    raise DeploymentsFileError(f"{where}: {name} is empty")
            connection: Optional[int] = None
            if record.get("connection_id"):
                if not record["connection_id"].isdigit():
                    raise DeploymentsFileError(f"{where}: connection_id must be a number")
                connection = int(record["connection_id"])
            key = f"{connection if connection is not None else '*'}:{record['id']}"
            rows[key] = {
                "row_key": key,
                "id": record["id"],
                "connection_id": connection,
                "service_id": record["service_id"],
                "name": record.get("name") or None,
                "started_at": _time(record["started_at"], f"{where}, started_at")
                if record.get("started_at")
                else None,
                "finished_at": _time(record["finished_at"], f"{where}, finished_at"),
                "result": record["result"].upper(),
                "environment": record["environment"].upper(),
            }
    return DeploymentsFile(path, tuple(rows.values()))


def load_deployments(database: Database, deployments: DeploymentsFile) -> int:
    """Upsert the deployments (by id and connection) into `<lake>_raw.deployments`."""
    database.ensure_databases()
    with throwaway_pipeline(database, "user_deployments") as pipeline:
        pipeline.run(
            dlt.resource(
                [list(deployments.rows)],
                name=TABLE,
                write_disposition="merge",
                primary_key="row_key",
                columns=COLUMNS,
            )
        )
    return len(deployments.rows)
