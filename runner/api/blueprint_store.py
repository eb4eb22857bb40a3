"""Blueprints saved through the API, in the lake database (`_devlake_blueprints`), as DevLake keeps them:
the body as posted, plus its id and times.

Every change bumps the row's `revision`, and `all()` keeps the parsed blueprints: a read (the scheduler's,
twice a second) fetches only the ids and revisions, over a connection kept for it, and parses only the
bodies that changed. A stored body
that cannot be read back (saved by an earlier version: nested too deep, a lone surrogate) is shown with its
name and a `bodyError`, so listing and deleting still work.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager, suppress
from typing import Any, Optional

import pymysql

from ingestion.database import Database

from ..errors import InputError
from ..lake_tables import connect_with_table, utc_now
from .blueprint_body import check_json

TABLE = "_devlake_blueprints"
_DDL = f"""
CREATE TABLE IF NOT EXISTS `{TABLE}` (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    body LONGTEXT NOT NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    revision BIGINT UNSIGNED NOT NULL DEFAULT 0,
    UNIQUE KEY uk_name (name)
) CHARACTER SET utf8mb4
"""
_COLUMNS = "id, revision, name, body, created_at, updated_at"
DEFAULT_MAX_BLUEPRINTS = 200

SHOWN_ONLY = ("id", "createdAt", "updatedAt", "scheduleError", "bodyError")
"""Fields the API shows on a blueprint that are not part of its body."""


class UnknownBlueprint(InputError):
    pass


class BlueprintStore:
    def __init__(self, database: Database, max_blueprints: int = DEFAULT_MAX_BLUEPRINTS) -> None:
        self.database = database
        self.max_blueprints = max_blueprints
        self._parsed: dict[int, tuple[int, dict[str, Any]]] = {}  # id -> (revision, blueprint as shown)
        self._lock = threading.Lock()
        self._has_revision = False
        self._reader: Optional[pymysql.connections.Connection] = None  # all()'s own connection
        self._reader_lock = threading.Lock()

    def _conn(self):
        conn = connect_with_table(self.database, _DDL)
        if not self._has_revision:  # a table of an earlier version gains the column, once per store
            with conn.cursor() as cur:
                cur.execute(f"SHOW COLUMNS FROM `{TABLE}` LIKE 'revision'")
                if not cur.fetchone():
                    cur.execute(
                        f"ALTER TABLE `{TABLE}` ADD COLUMN revision BIGINT UNSIGNED NOT NULL DEFAULT 0"
                    )
            self._has_revision = True
        return conn

    def _check_name(self, cur, name: str, exclude: Optional[int] = None) -> None:
        cur.execute(f"SELECT id FROM `{TABLE}` WHERE name = %s AND id <> %s", (name, exclude or 0))
        if cur.fetchone():
            raise InputError(f"name: a blueprint named {name!r} exists already")

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        now = utc_now()
        with self._conn() as conn, conn.cursor() as cur, _unique_name(body["name"]):
            cur.execute(f"SELECT COUNT(*) FROM `{TABLE}`")
            if cur.fetchone()[0] >= self.max_blueprints:
                raise InputError(
                    f"blueprints: at most {self.max_blueprints} are kept (API_MAX_BLUEPRINTS);"
                    " delete one first"
                )
            self._check_name(cur, body["name"])
            cur.execute(
                f"INSERT INTO `{TABLE}` (name, body, created_at, updated_at) VALUES (%s, %s, %s, %s)",
                (body["name"], json.dumps(body), now, now),
            )
            return self.get(int(cur.lastrowid))

    def get(self, blueprint_id: int) -> dict[str, Any]:
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT {_COLUMNS} FROM `{TABLE}` WHERE id = %s", (blueprint_id,))
            row = cur.fetchone()
        if row is None:
            raise UnknownBlueprint(f"no blueprint with id {blueprint_id}")
        return _public(row)

    @contextmanager
    def _reading(self):
        """all()'s connection, kept between calls (a new pymysql connection costs some 20 ms of CPU, twice a
        second for the scheduler); made again after any error."""
        with self._reader_lock:
            try:
                if self._reader is None:
                    self._reader = self._conn()
                else:
                    self._reader.ping(reconnect=True)
                yield self._reader
            except BaseException:
                if self._reader is not None:
                    with suppress(pymysql.err.Error):
                        self._reader.close()
                self._reader = None
                raise

    def all(self) -> list[dict[str, Any]]:
        """Every blueprint, by id; bodies parsed again only when their revision changed."""
        with self._reading() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT id, revision FROM `{TABLE}` ORDER BY id")
            current = cur.fetchall()
            with self._lock:
                stale = [bid for bid, revision in current if self._parsed.get(bid, (None,))[0] != revision]
            fresh: dict[int, tuple[int, dict[str, Any]]] = {}
            if stale:
                cur.execute(
                    f"SELECT {_COLUMNS} FROM `{TABLE}` WHERE id IN ({', '.join(['%s'] * len(stale))})", stale
                )
                fresh = {row[0]: (row[1], _public(row)) for row in cur.fetchall()}
        with self._lock:
            self._parsed.update(fresh)
            for gone in set(self._parsed) - {bid for bid, _ in current}:
                del self._parsed[gone]
            return [dict(self._parsed[bid][1]) for bid, _ in current if bid in self._parsed]

    def replace(self, blueprint_id: int, body: dict[str, Any]) -> dict[str, Any]:
        self.get(blueprint_id)
        with self._conn() as conn, conn.cursor() as cur, _unique_name(body["name"]):
            self._check_name(cur, body["name"], exclude=blueprint_id)
            cur.execute(
                f"UPDATE `{TABLE}` SET name = %s, body = %s, updated_at = %s, revision = revision + 1"
                " WHERE id = %s",
                (body["name"], json.dumps(body), utc_now(), blueprint_id),
            )
        return self.get(blueprint_id)

    def delete(self, blueprint_id: int) -> None:
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT id FROM `{TABLE}` WHERE id = %s", (blueprint_id,))
            if cur.fetchone() is None:
                raise UnknownBlueprint(f"no blueprint with id {blueprint_id}")
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
    """A stored row as the API shows it. The database is not trusted to hold what this version saved: a body
    that does not parse, or that no check would let in now, is shown by its name with why it is unusable."""
    blueprint_id, _, name, body, created_at, updated_at = row
    try:
        shown = json.loads(body)
        if not isinstance(shown, dict):
            raise InputError("body: not a JSON object")
        check_json(shown)
    except (ValueError, RecursionError, InputError) as exc:
        reason = str(exc) if isinstance(exc, InputError) else "not valid JSON"
        why = f"the stored body cannot be used ({reason}); delete this blueprint and save it again"
        shown = {"name": name, "bodyError": why}
    return {
        **shown,
        "id": blueprint_id,
        "createdAt": created_at.isoformat(),
        "updatedAt": updated_at.isoformat(),
    }


def body_of(blueprint: dict[str, Any]) -> dict[str, Any]:
    """The posted body of a stored blueprint (without the fields the store adds)."""
    return {k: v for k, v in blueprint.items() if k not in SHOWN_ONLY}
