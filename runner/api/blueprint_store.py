"""Blueprints saved through the API, in the lake database (`_devlake_blueprints`), as DevLake keeps them:
the body as posted, plus its id and times."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Optional

import pymysql

from ingestion.database import Database

from ..errors import InputError
from ..lake_tables import connect_with_table, utc_now

TABLE = "_devlake_blueprints"
_DDL = f"""
CREATE TABLE IF NOT EXISTS `{TABLE}` (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    body LONGTEXT NOT NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    UNIQUE KEY uk_name (name)
) CHARACTER SET utf8mb4
"""


SHOWN_ONLY = ("id", "createdAt", "updatedAt", "scheduleError")
"""Fields the API shows on a blueprint that are not part of its body."""


class UnknownBlueprint(InputError):
    pass


class BlueprintStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def _conn(self):
        return connect_with_table(self.database, _DDL)

    def _check_name(self, cur, name: str, exclude: Optional[int] = None) -> None:
        cur.execute(f"SELECT id FROM `{TABLE}` WHERE name = %s AND id <> %s", (name, exclude or 0))
        if cur.fetchone():
            raise InputError(f"name: a blueprint named {name!r} exists already")

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        now = utc_now()
        with self._conn() as conn, conn.cursor() as cur, _unique_name(body["name"]):
            self._check_name(cur, body["name"])
            cur.execute(
                f"INSERT INTO `{TABLE}` (name, body, created_at, updated_at) VALUES (%s, %s, %s, %s)",
                (body["name"], json.dumps(body), now, now),
            )
            return self.get(int(cur.lastrowid))

    def get(self, blueprint_id: int) -> dict[str, Any]:
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(
                f"SELECT id, body, created_at, updated_at FROM `{TABLE}` WHERE id = %s", (blueprint_id,)
            )
            row = cur.fetchone()
        if row is None:
            raise UnknownBlueprint(f"no blueprint with id {blueprint_id}")
        return _public(row)

    def all(self) -> list[dict[str, Any]]:
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT id, body, created_at, updated_at FROM `{TABLE}` ORDER BY id")
            return [_public(row) for row in cur.fetchall()]

    def replace(self, blueprint_id: int, body: dict[str, Any]) -> dict[str, Any]:
        self.get(blueprint_id)
        with self._conn() as conn, conn.cursor() as cur, _unique_name(body["name"]):
            self._check_name(cur, body["name"], exclude=blueprint_id)
            cur.execute(
                f"UPDATE `{TABLE}` SET name = %s, body = %s, updated_at = %s WHERE id = %s",
                (body["name"], json.dumps(body), utc_now(), blueprint_id),
            )
        return self.get(blueprint_id)

    def delete(self, blueprint_id: int) -> None:
        self.get(blueprint_id)
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(f"DELETE FROM `{TABLE}` WHERE id = %s", (blueprint_id,))


@contextmanager
def _unique_name(name: str):
    """Two saves of one name at once: the database's unique key decides, and the loser hears why."""
    try:
        yield
    except pymysql.err.IntegrityError as exc:
        if exc.args and exc.args[0] == 1062:
            raise InputError(f"name: a blueprint named {name!r} exists already") from None
        raise


def _public(row: tuple) -> dict[str, Any]:
    blueprint_id, body, created_at, updated_at = row
    return {
        **json.loads(body),
        "id": blueprint_id,
        "createdAt": created_at.isoformat(),
        "updatedAt": updated_at.isoformat(),
    }


def body_of(blueprint: dict[str, Any]) -> dict[str, Any]:
    """The posted body of a stored blueprint (without the fields the store adds)."""
    return {k: v for k, v in blueprint.items() if k not in SHOWN_ONLY}
