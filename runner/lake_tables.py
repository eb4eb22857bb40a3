"""The runner's own tables in the lake database (connections, blueprints, pipelines): created on first use."""

from __future__ import annotations

from datetime import UTC, datetime

import pymysql

from ingestion.database import Database


def connect_with_table(database: Database, ddl: str) -> pymysql.connections.Connection:
    """A connection to the lake database, with the table of `ddl` (CREATE TABLE IF NOT EXISTS) in place."""
    database.ensure_databases()
    conn = database.connect(database.name)
    with conn.cursor() as cur:
        cur.execute(ddl)
    return conn


def utc_now() -> datetime:
    """Now, as the naive UTC DATETIME these tables hold."""
    return datetime.now(UTC).replace(tzinfo=None)
