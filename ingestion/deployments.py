"""Deployments from outside PagerDuty (GitHub, Jenkins, Argo, ...) supplied as CSV, into `<lake>_raw`.

Columns (header row, any order): id, service_id, finished_at, result, environment, and optionally name,
started_at, connection_id; any other column is kept as a custom detail, which the deployment filter var
`deployment_custom_details` reads as it reads PagerDuty change events'. Times are ISO-8601 with an offset;
result SUCCESS/FAILURE/...; environment PRODUCTION/STAGING/... (only SUCCESS in PRODUCTION counts for DORA).
Without connection_id a deployment applies to the service of that id in every connection.

The file is the whole truth for its deployments: each load replaces the previous file's rows (a row removed
from the file disappears, a changed row changes in place; ids are unique). A file with any bad row is refused
whole, with one line per problem, before anything is written.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Optional

from .database import Database
from .pagerduty.records import DEPLOYMENTS
from .pagerduty.times import TimeFormatError, parse_time
from .raw_store import RawLoad, clean_abandoned, ensure_schema

REQUIRED = ("id", "service_id", "finished_at", "result", "environment")
OPTIONAL = ("name", "started_at", "connection_id")
MAX_PROBLEMS_SHOWN = 20


class DeploymentsFileError(ValueError):
    """The CSV cannot be loaded; one line per problem, each naming its line and column."""


@dataclass(frozen=True)
class DeploymentsFile:
    path: str
    rows: tuple[dict[str, Any], ...]


def _time(value: str, where: str, problems: list[str]) -> Optional[datetime]:
    try:
        moment = parse_time(value, where)
    except TimeFormatError as exc:
        problems.append(str(exc))
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None


def read_deployments(path: str) -> DeploymentsFile:
    """Read and check the whole file before anything is written."""
    try:
        handle = Path(path).open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DeploymentsFileError(
            f"deployments file {path}: cannot be read ({exc.strerror or exc})"
        ) from None
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    with handle:
        try:
            reader = csv.DictReader(handle)
            header = [(name or "").strip() for name in reader.fieldnames or []]
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise DeploymentsFileError(f"deployments file {path}: missing column(s) {', '.join(missing)}")
            extra = [name for name in header if name and name not in REQUIRED + OPTIONAL]
            for line, record in enumerate(reader, start=2):
                where = f"deployments file {path}, line {line}"
                if None in record:  # more fields than the header has
                    problems.append(
                        f"{where}: {len(header) + len(record[None])} fields, the header has {len(header)}"
                    )
                    continue
                values = {(k or "").strip(): (v or "").strip() for k, v in record.items()}
                row_problems: list[str] = []
                for name in REQUIRED:
                    if not values.get(name):
                        row_problems.append(f"{where}, {name}: empty")
                connection: Optional[int] = None
                if values.get("connection_id"):
                    if not values["connection_id"].isdigit():
                        row_problems.append(
                            f"{where}, connection_id: {values['connection_id']!r} is not a number"
                        )
                    else:
                        connection = int(values["connection_id"])
                finished = _time(values.get("finished_at", ""), f"{where}, finished_at", row_problems)
                started = _time(values.get("started_at", ""), f"{where}, started_at", row_problems)
                deployment_id = values.get("id", "")
                if deployment_id and deployment_id in seen:
                    row_problems.append(
                        f"{where}, id: {deployment_id!r} is already on line {seen[deployment_id]}"
                    )
                elif deployment_id:
                    seen[deployment_id] = line
                if len(deployment_id) > 255:
                    row_problems.append(f"{where}, id: longer than 255 characters")
                if row_problems:
                    problems.extend(row_problems)
                    continue
                rows.append(
                    {
                        "id": deployment_id,
                        "connection_id": connection,
                        "service_id": values["service_id"],
                        "name": values.get("name") or None,
                        "started_at": started,
                        "finished_at": finished,
                        "result": values["result"].upper(),
                        "environment": values["environment"].upper(),
                        "custom_details": {
                            "environment": values["environment"],
                            "result": values["result"],
                            **{name: values.get(name, "") for name in extra},
                        },
                        "line": line,
                    }
                )
        except csv.Error as exc:
            raise DeploymentsFileError(f"deployments file {path}: not valid CSV ({exc})") from None
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"deployments file {path}: {len(problems) - MAX_PROBLEMS_SHOWN} more problems")
        raise DeploymentsFileError("\n".join(shown))
    return DeploymentsFile(path, tuple(rows))


def load_deployments(database: Database, deployments: DeploymentsFile, bulk_load: str = "auto") -> int:
    """Replace the deployments the lake holds from a file with this file's, in one load."""
    database.claim()
    ensure_schema(database)
    clean_abandoned(database)
    with RawLoad(database, "deployments", None, "deployments", bulk_load=bulk_load) as load:
        load.write(DEPLOYMENTS, deployments.rows)
        load.complete(state={"file": deployments.path, "rows": len(deployments.rows)})
    return len(deployments.rows)
