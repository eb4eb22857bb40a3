"""Shared fixtures: a private database on the real MariaDB server, and the PagerDuty simulator over HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from ingestion.database import Database, parse_db_url
from ingestion.pagerduty import RetryPolicy
from ingestion.pipeline import drop_databases

SERVER_URL = os.environ.get("TEST_DB_SERVER_URL", "mysql://root@127.0.0.1:3306")
SIM_TOKEN = "sim-test-token-6f1e2d"
FAST_RETRY = RetryPolicy(max_attempts=6, backoff_factor=0.02, max_delay=2.0, timeout=10.0)


@pytest.fixture
def database() -> Iterator[Database]:
    """A database name of its own (and its _raw twin), dropped afterwards."""
    db = parse_db_url(f"{SERVER_URL}/pdtest_{uuid.uuid4().hex[:10]}")
    try:
        yield db
    finally:
        drop_databases(db)


def query(db: Database, sql: str, *args: object, database: str | None = None) -> list[tuple]:
    with db.connect(database or db.raw_name) as conn, conn.cursor() as cur:
        cur.execute(sql, args or None)
        return list(cur.fetchall())
