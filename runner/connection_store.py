"""PagerDuty connections kept in the lake database, in DevLake's table `_tool_pagerduty_connections`, with
tokens encrypted (runner/crypto.py). The CLI and blueprint runs share them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

import pymysql

from ingestion.database import Database
from ingestion.pipeline import ConnectionSpec

from .connections import validate_connection
from .crypto import decrypt, encrypt, encryption_secret
from .errors import InputError
from .lake_tables import connect_with_table, utc_now

TABLE = "_tool_pagerduty_connections"
_UNKNOWN_DATABASE, _NO_SUCH_TABLE = 1049, 1146
_DDL = f"""
CREATE TABLE IF NOT EXISTS `{TABLE}` (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    endpoint VARCHAR(255) NOT NULL,
    proxy TEXT NULL,
    rate_limit_per_hour INT NULL,
    token TEXT NOT NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    UNIQUE KEY uk_name (name)
) CHARACTER SET utf8mb4
"""


class UnknownConnection(InputError):
    pass


def mask_url(url: Optional[str]) -> Optional[str]:
    """A proxy URL with its password hidden."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:********@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class ConnectionStore:
    def __init__(self, database: Database, environ: Mapping[str, str] = os.environ) -> None:
        self.database = database
        self.environ = environ

    def _conn(self):
        return connect_with_table(self.database, _DDL)

    def add(self, fields: dict[str, Any]) -> int:
        spec = validate_connection({**fields, "id": 1}, "connection", self.environ)
        secret = encryption_secret(self.environ)
        now = utc_now()
        with self._conn() as conn, conn.cursor() as cur:
            self._check_name(cur, spec.name)
            cur.execute(
                f"INSERT INTO `{TABLE}` (name, endpoint, proxy, rate_limit_per_hour, token, created_at,"
                " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    spec.name,
                    spec.endpoint,
                    spec.proxy,
                    spec.rate_limit_per_hour,
                    encrypt(spec.token, secret),
                    now,
                    now,
                ),
            )
            return int(cur.lastrowid)

    def _rows(self, cur, conn_id: Optional[int] = None) -> list[dict[str, Any]]:
        """Stored connections (all, or the one with `conn_id`, which must exist), in one query."""
        keys = ("id", "name", "endpoint", "proxy", "rate_limit_per_hour", "token", "created_at", "updated_at")
        where, args = ("WHERE id = %s", (conn_id,)) if conn_id is not None else ("", ())
        cur.execute(f"SELECT {', '.join(keys)} FROM `{TABLE}` {where} ORDER BY id", args)
        rows = [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
        if conn_id is not None and not rows:
            raise UnknownConnection(f"no PagerDuty connection with id {conn_id}")
        return rows

    def _check_name(self, cur, name: str, exclude: int = 0) -> None:
        cur.execute(f"SELECT id FROM `{TABLE}` WHERE name = %s AND id <> %s", (name, exclude))
        if cur.fetchone():
            raise InputError(f"name: a connection named {name!r} exists already")

    def update(self, conn_id: int, changes: dict[str, Any]) -> None:
        secret = encryption_secret(self.environ)
        with self._conn() as conn, conn.cursor() as cur:
            (current,) = self._rows(cur, conn_id)
            merged = {
                "name": current["name"],
                "endpoint": current["endpoint"],
                "proxy": current["proxy"],
                "rateLimitPerHour": current["rate_limit_per_hour"],
                "token": decrypt(current["token"], secret),
                **{k: v for k, v in changes.items() if v is not None},
            }
            spec = validate_connection({**merged, "id": conn_id}, "connection", self.environ)
            self._check_name(cur, spec.name, exclude=conn_id)
            cur.execute(
                f"UPDATE `{TABLE}` SET name = %s, endpoint = %s, proxy = %s, rate_limit_per_hour = %s,"
                " token = %s, updated_at = %s WHERE id = %s",
                (
                    spec.name,
                    spec.endpoint,
                    spec.proxy,
                    spec.rate_limit_per_hour,
                    encrypt(spec.token, secret),
                    utc_now(),
                    conn_id,
                ),
            )

    def delete(self, conn_id: int) -> None:
        with self._conn() as conn, conn.cursor() as cur:
            self._rows(cur, conn_id)
            cur.execute(f"DELETE FROM `{TABLE}` WHERE id = %s", (conn_id,))

    def public(self, conn_id: Optional[int] = None) -> list[dict[str, Any]]:
        """Connections as they may be shown: token masked, proxy password hidden."""
        with self._conn() as conn, conn.cursor() as cur:
            rows = self._rows(cur, conn_id)
        return [
            {
                "id": row["id"],
                "name": row["name"],
                "endpoint": row["endpoint"],
                "proxy": mask_url(row["proxy"]),
                "rateLimitPerHour": row["rate_limit_per_hour"],
                "token": "********",
                "createdAt": row["created_at"].isoformat(),
                "updatedAt": row["updated_at"].isoformat(),
            }
            for row in rows
        ]

    def specs(self) -> dict[int, ConnectionSpec]:
        """Every stored connection, decrypted, for a blueprint run. Reads only: a run refused for bad input
        must leave the databases as they were, so nothing is created here."""
        secret = encryption_secret(self.environ)
        try:
            with self.database.connect(self.database.name) as conn, conn.cursor() as cur:
                rows = self._rows(cur)
        except (pymysql.err.OperationalError, pymysql.err.ProgrammingError) as exc:
            if exc.args and exc.args[0] in (_UNKNOWN_DATABASE, _NO_SUCH_TABLE):
                return {}
            raise
        return {
            row["id"]: ConnectionSpec(
                id=row["id"],
                name=row["name"],
                endpoint=row["endpoint"],
                token=decrypt(row["token"], secret),
                proxy=row["proxy"],
                rate_limit_per_hour=row["rate_limit_per_hour"],
            )
            for row in rows
        }
