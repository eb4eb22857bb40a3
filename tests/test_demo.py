"""`make demo`'s script, as a user runs it: against the database in DB_URL, and with no database at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import query

ROOT = Path(__file__).resolve().parent.parent


def demo(db_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scripts.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DB_URL": db_url},
    )


def test_demo_into_db_url(database) -> None:
    result = demo(f"mysql://root@{database.host}:{database.port}/{database.name}")
    assert result.returncode == 0, result.stderr
    assert "2,000 incidents in" in result.stdout
    assert "MTTR by month (dora_mttr_monthly)" in result.stdout
    assert "Change failure rate by month (dora_cfr_monthly)" in result.stdout
    assert query(database, "SELECT COUNT(*) FROM issues WHERE type = 'INCIDENT'", database=database.name) == [
        (2000,)
    ]


def test_demo_starts_a_private_server_when_none_answers() -> None:
    result = demo("mysql://root@127.0.0.1:9/lake")  # port 9 (discard): nothing listens
    assert result.returncode == 0, result.stderr
    assert "starting a private throwaway MariaDB server" in result.stdout
    assert "2,000 incidents in lake.issues" in result.stdout
