"""Running the dbt project in-process (dbtRunner) against the database in DB_URL.

The dbt profile is profiles.example.yml itself, fed through environment variables derived from DB_URL, so
users never keep two configurations in step. The target (mysql or mariadb) follows the server's version.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ingestion.checkpoints import checkpoint
from ingestion.database import Database

PROJECT_DIR = Path(__file__).resolve().parent.parent
_ONE_AT_A_TIME = threading.Lock()
PROFILE_TEMPLATE = PROJECT_DIR / "profiles.example.yml"


@dataclass
class DbtOutcome:
    success: bool
    models: int = 0
    tests: int = 0
    seeds: int = 0
    failures: list[str] = field(default_factory=list)
    error: Optional[str] = None
    rows: list[list] = field(default_factory=list)
    """The rows `dbt show` returned."""
    deprecations: list[str] = field(default_factory=list)
    """dbt's deprecation events of the run (their names): none is expected."""


def server_flavour(database: Database) -> str:
    """'mariadb' or 'mysql', from the server's own version string."""
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        (version,) = cur.fetchone()
    return "mariadb" if "mariadb" in str(version).lower() else "mysql"


def dbt_environment(database: Database) -> dict[str, str]:
    return {
        "DBT_TARGET": server_flavour(database),
        "DBT_HOST": database.host,
        "DBT_PORT": str(database.port),
        "DBT_USER": database.user,
        "DBT_PASSWORD": database.password,
        "DBT_DATABASE": database.name,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",  # no network here, and none of dbt Labs' business
    }


def run_dbt(
    database: Database,
    command: Sequence[str] = ("build",),
    extra_args: Sequence[str] = (),
    quiet: bool = True,
) -> DbtOutcome:
    """Run `dbt <command>` on the project; the outcome names every failing model or test."""
    with _ONE_AT_A_TIME:  # dbt reads its profile from the environment, which threads share
        return _run_dbt(database, command, extra_args, quiet)


def _checkpoint_after_node(event) -> None:  # noqa: ANN001 - dbt's EventMsg
    """Crash-safety tests can stop the process dead after a given model is built (ingestion/checkpoints)."""
    if event.info.name == "NodeFinished":
        checkpoint(f"dbt:{event.data.node_info.node_name}")


def _run_dbt(
    database: Database, command: Sequence[str], extra_args: Sequence[str], quiet: bool
) -> DbtOutcome:
    from dbt.cli.main import dbtRunner  # imported late: dbt is slow to import and only this needs it

    profiles_dir = tempfile.mkdtemp(prefix="pagerduty-dbt-")
    shutil.copy(PROFILE_TEMPLATE, Path(profiles_dir, "profiles.yml"))
    saved = {key: os.environ.get(key) for key in dbt_environment(database)}
    os.environ.update(dbt_environment(database))
    try:
        args = [
            *command,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            profiles_dir,
            *(["--quiet"] if quiet else []),
            *extra_args,
        ]
        deprecations: list[str] = []

        def _deprecation(event) -> None:  # noqa: ANN001 - dbt's EventMsg
            if event.info.name.endswith("Deprecation"):
                deprecations.append(event.info.name)

        result = dbtRunner(callbacks=[_checkpoint_after_node, _deprecation]).invoke(args)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(profiles_dir, ignore_errors=True)
    outcome = DbtOutcome(success=bool(result.success), deprecations=deprecations)
    if result.exception is not None:
        outcome.error = (
            str(result.exception).splitlines()[0] if str(result.exception) else repr(result.exception)
        )
    for node_result in getattr(result.result, "results", None) or []:
        table = getattr(node_result, "agate_table", None)
        if table is not None:
            outcome.rows.extend(list(row) for row in table.rows)
        node = node_result.node
        kind = node.resource_type
        if kind == "model":
            outcome.models += 1
        elif kind == "test":
            outcome.tests += 1
        elif kind == "seed":
            outcome.seeds += 1
        if str(node_result.status) in ("error", "fail", "runtime error"):
            lines = [line.strip() for line in (node_result.message or "").splitlines() if line.strip()]
            detail = " ".join(line for line in lines if not line.startswith("compiled Code at"))
            outcome.failures.append(f"{kind} {node.name}: {detail or node_result.status}")
    return outcome
