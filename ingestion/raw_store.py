"""The raw database `<lake>_raw`: versioned tables, the ledger of loads, and the writer that fills them.

Why not dlt's own destination: a load must be all or nothing across tables (dlt commits each table's merge
separately), a rerun's write must cost what changed (dlt's merge deletes with a correlated EXISTS that MariaDB
10.11 runs once per row of the table), and a first load must write at least 10,000 incidents a second with
every incident's JSON kept (dlt's normalizer alone tops out near 12,000 rows a second, before any writing).
BENCHMARKS.md has the measurements.

How a load stays all or nothing, whatever kills it:
- Every raw entity has two tables: `<name>_versions`, append-only, where a load writes every row it read,
  tagged with its load id; and `<name>`, one row per (connection, id), the latest version. Nothing reads the
  versions of a load that did not complete.
- A load registers itself as pending in `_loads` while holding a database lock named after it. The rows go
  into the versions tables in chunks (LOAD DATA LOCAL INFILE, or multi-row INSERTs where the server refuses
  local files), each chunk its own statement.
- Completing a load is one transaction, under a lock shared by every load of this raw database: the load takes
  the next sequence number, its versions replace the current rows (where they are newer), its scope state is
  written, and its ledger row turns completed. Sequence numbers follow completion order, so dbt's incremental
  models pick new loads by number, never by clocks of different machines.
- A load that dies (SIGKILL, OOM, a lost connection) loses its lock with its connection. The next load finds
  its ledger row still pending with a free lock, and deletes its rows. Until then they are invisible.
"""

from __future__ import annotations

import hashlib
import os
import queue
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Optional

import orjson
import pymysql

from .checkpoints import checkpoint, chunk_rows
from .database import Database
from .pagerduty.records import DEPLOYMENTS, PAGERDUTY_TABLES, RAW_TABLES, Column, RawTable, Row

LOADS = "_loads"
SCOPES = "_scopes"
DELETED = "incidents_deleted"
COMPLETION_WAIT_SECONDS = 3600
CHUNK_ROWS = 5000
"""Rows per LOAD DATA statement: about 14 MB of incidents, written while the next pages arrive (crash-safety
tests make it smaller: ingestion/checkpoints.py)."""
BULK_LOAD_ENV = "PAGERDUTY_DORA_BULK_LOAD"
BULK_LOAD_MODES = ("auto", "insert")
"""auto: LOAD DATA LOCAL INFILE where the server accepts it (MariaDB does by default), multi-row INSERTs where
it refuses (MySQL 8's default); insert: INSERTs always."""

PENDING, COMPLETED, ABANDONED = "pending", "completed", "abandoned"


class LoadError(Exception):
    """A load could not be written or completed; nothing of it is visible, and the next run redoes it."""


# ------------------------------------------------------------------------------------------------- DDL
def _versions_ddl(table: RawTable) -> str:
    columns = ",\n    ".join(f"`{c.name}` {c.sql}{'' if c.nullable else ' NOT NULL'}" for c in table.columns)
    keys = ", ".join(f"`{k}`" for k in table.keys)
    return f"""CREATE TABLE IF NOT EXISTS `{table.versions}` (
    version_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    load_id VARCHAR(40) NOT NULL,
    {columns},
    KEY ix_load (load_id),
    KEY ix_key ({keys}, version_id)
) CHARACTER SET utf8mb4"""


def _current_ddl(table: RawTable) -> str:
    """The current table is clustered by `version_id`, with the object's key a unique secondary index: a first
    load then appends its rows in order instead of inserting each into a random page of a table larger than
    the buffer pool (PagerDuty's ids are random). At 1,000,000 incidents on MariaDB's default 128 MB pool
    that made completing the load 44 s instead of 360 s (BENCHMARKS.md)."""
    columns = ",\n    ".join(
        f"`{c.name}` {c.sql}{'' if c.nullable else ' NOT NULL'}" for c in table.current_columns
    )
    keys = ", ".join(f"`{k}`" for k in table.keys)
    indexes = "".join(
        f",\n    KEY {_index_name(cols)} ({', '.join(f'`{c}`' for c in cols)})"
        for cols in table.current_indexes
    )
    return f"""CREATE TABLE IF NOT EXISTS `{table.name}` (
    {columns},
    version_id BIGINT UNSIGNED NOT NULL,
    load_seq BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (version_id),
    UNIQUE KEY uk_key ({keys}),
    KEY ix_load_seq (load_seq){indexes}
) CHARACTER SET utf8mb4"""


LEDGER_DDL = f"""CREATE TABLE IF NOT EXISTS `{LOADS}` (
    load_id VARCHAR(40) NOT NULL PRIMARY KEY,
    seq BIGINT UNSIGNED NULL,
    kind VARCHAR(32) NOT NULL,
    connection_id BIGINT NULL,
    scope_key VARCHAR(255) NULL,
    status VARCHAR(16) NOT NULL,
    started_at DATETIME(6) NOT NULL,
    completed_at DATETIME(6) NULL,
    host VARCHAR(255) NULL,
    state LONGTEXT NULL,
    row_counts LONGTEXT NULL,
    UNIQUE KEY uk_seq (seq),
    KEY ix_status (status),
    KEY ix_scope (scope_key, seq)
) CHARACTER SET utf8mb4"""

SCOPES_DDL = f"""CREATE TABLE IF NOT EXISTS `{SCOPES}` (
    blueprint VARCHAR(255) NOT NULL,
    project VARCHAR(255) NOT NULL,
    connection_id BIGINT NOT NULL,
    service_id VARCHAR(64) NOT NULL,
    start_date DATETIME(6) NOT NULL,
    recorded_at DATETIME(6) NOT NULL,
    PRIMARY KEY (blueprint, connection_id, service_id, start_date)
) CHARACTER SET utf8mb4"""


DELETED_DDL = f"""CREATE TABLE IF NOT EXISTS `{DELETED}` (
    connection_id BIGINT NOT NULL,
    id VARCHAR(64) NOT NULL,
    incident_number BIGINT NULL,
    load_seq BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (connection_id, id, load_seq),
    KEY ix_load_seq (load_seq)
) CHARACTER SET utf8mb4"""
"""Incidents a reconcile found PagerDuty no longer has: their current rows leave `incidents` in the load that
found them, and this row tells dbt's incremental models which load removed them."""


def schema_statements() -> list[str]:
    statements = [LEDGER_DDL, SCOPES_DDL, DELETED_DDL]
    for table in RAW_TABLES:
        statements += [_versions_ddl(table), _current_ddl(table)]
    return statements


def ensure_schema(database: Database) -> None:
    """The raw tables, created once (the databases themselves are claimed by `Database.claim`); a table of an
    older lake gains the columns (nullable ones only, e.g. `log_entries.user_id`) and keys declared since."""
    with database.connect(database.raw_name) as conn, conn.cursor() as cur:
        for statement in schema_statements():
            cur.execute(statement)
        for table in RAW_TABLES:
            _add_missing_columns(cur, table.versions, table.columns)
            _add_missing_columns(cur, table.name, table.current_columns)
            cur.execute(
                "SELECT DISTINCT index_name FROM information_schema.statistics"
                " WHERE table_schema = DATABASE() AND table_name = %s",
                (table.name,),
            )
            present = {row[0] for row in cur.fetchall()}
            for columns in table.current_indexes:
                name = _index_name(columns)
                if name not in present:
                    listed = ", ".join(f"`{c}`" for c in columns)
                    try:
                        cur.execute(f"ALTER TABLE `{table.name}` ADD KEY {name} ({listed})")
                    except pymysql.err.OperationalError as exc:
                        if exc.args[0] != 1061:  # a load beside this one added it first
                            raise


def _add_missing_columns(cur: Any, name: str, columns: Sequence[Column]) -> None:
    """Columns declared after a lake's table was created: added at the end, NULL in the rows already there
    (every write names its columns, so the order does not matter)."""
    cur.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = DATABASE() AND table_name = %s",
        (name,),
    )
    present = {row[0].lower() for row in cur.fetchall()}
    for column in columns:
        if column.name.lower() not in present and column.nullable:
            try:
                cur.execute(f"ALTER TABLE `{name}` ADD COLUMN `{column.name}` {column.sql} NULL")
            except pymysql.err.OperationalError as exc:
                if exc.args[0] != 1060:  # a load beside this one added it first
                    raise


def _index_name(columns: Sequence[str]) -> str:
    return f"ix_{'_'.join(columns)}"


# ---------------------------------------------------------------------------------------------- encoding
# Rows go to LOAD DATA as tab-separated text: a field is `\\N` (NULL) or its text with backslash, tab,
# newline, carriage return and NUL escaped. Each field becomes a str and a chunk is encoded to UTF-8 once: on
# this machine that costs a tenth of encoding and scanning each field as bytes (bytes `in` is slow).
_NULL = "\\N"


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\x00", "\\0")
    )


def _text(value: Any) -> str:
    if value is None:
        return _NULL
    text = value if isinstance(value, str) else str(value)
    # isprintable() is False for every character that needs escaping but the backslash (and for some that
    # do not: those take the slow path, which leaves them as they are)
    return text if text.isprintable() and "\\" not in text else _escape(text)


def _int(value: Any) -> str:
    return _NULL if value is None else str(int(value))


def _time(value: Any) -> str:
    return _NULL if value is None else value.isoformat(" ")


def _json(value: Any) -> str:
    if value is None:
        return _NULL
    text = orjson.dumps(value).decode()  # orjson escapes every control character: only backslashes remain
    return text.replace("\\", "\\\\") if "\\" in text else text


_ENCODERS = {"int": _int, "time": _time, "json": _json, "text": _text}


def _encoder(kind: str):  # noqa: ANN202 - a tiny dispatch
    return _ENCODERS.get(kind, _text)


def encode_rows(load_id: str, encoders: Sequence[Any], names: Sequence[str], rows: Iterable[Row]) -> bytes:
    """The LOAD DATA body of `rows`: one line per row, the load id first."""
    pairs = list(zip(encoders, names, strict=True))
    lines = ["\t".join([load_id, *[enc(row[name]) for enc, name in pairs]]) for row in rows]
    lines.append("")
    return "\n".join(lines).encode()


def _python(kind: str):  # noqa: ANN202
    if kind == "json":
        return lambda v: None if v is None else orjson.dumps(v).decode()
    return lambda v: v


DRIFT_FIELDS: dict[str, str] = {
    "title": "NOT (v.title <=> c.title)",
    "status": "NOT (v.status <=> c.status)",
    "priority": "NOT (v.priority_id <=> c.priority_id AND v.priority_name <=> c.priority_name)",
    "urgency": "NOT (v.urgency <=> c.urgency)",
    "service": "NOT (v.service_id <=> c.service_id)",
    "resolved_at": "NOT (v.resolved_at <=> c.resolved_at)",
    "assignees": "NOT (JSON_EXTRACT(v.assignments, '$[*].assignee_id')"
    " <=> JSON_EXTRACT(c.assignments, '$[*].assignee_id'))",
}
"""What a reconcile compares between PagerDuty's answer and the lake's current row, field by field."""


@dataclass
class Drift:
    """What a reconcile found: incidents whose fields differed from the lake's (and by field), incidents the
    lake lacked, and incidents PagerDuty no longer has."""

    differed: int = 0
    by_field: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DRIFT_FIELDS, 0))
    missing: int = 0
    gone: int = 0

    def __add__(self, other: Drift) -> Drift:
        return Drift(
            self.differed + other.differed,
            {name: self.by_field[name] + other.by_field[name] for name in DRIFT_FIELDS},
            self.missing + other.missing,
            self.gone + other.gone,
        )

    def describe(self) -> str:
        fields = ", ".join(f"{name} {count:,}" for name, count in self.by_field.items())
        return (
            f"{self.differed:,} incidents differed ({fields}); {self.missing:,} were missing from the lake;"
            f" {self.gone:,} PagerDuty no longer has"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "differed": self.differed,
            "by_field": self.by_field,
            "missing": self.missing,
            "gone": self.gone,
        }


@dataclass
class _Buffer:
    table: RawTable
    lines: list[bytes] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    size: int = 0


# ------------------------------------------------------------------------------------------------ writer
class RawLoad:
    """One load into the raw database: rows written as they come, visible only once `complete()` commits."""

    def __init__(
        self,
        database: Database,
        kind: str,
        connection_id: Optional[int],
        scope_key: Optional[str],
        bulk_load: str = "auto",
    ):
        self.database = database
        self.kind = kind
        self.connection_id = connection_id
        self.scope_key = scope_key
        self.load_id = uuid.uuid4().hex
        self.written: dict[str, int] = {}
        self.skipped: dict[str, int] = {}
        self.completed = False
        self.drift: Optional[Drift] = None
        self._buffers: dict[str, _Buffer] = {}
        self._has_current: dict[str, bool] = {}
        self._encoders = {t.name: [_encoder(c.kind) for c in t.columns] for t in RAW_TABLES}
        self._python = {t.name: [_python(c.kind) for c in t.columns] for t in RAW_TABLES}
        self._conn: Optional[pymysql.connections.Connection] = None
        self._reader: Optional[pymysql.connections.Connection] = None
        self._local_infile = bulk_load != "insert"
        self._chunk_rows = chunk_rows(CHUNK_ROWS)
        self._chunks: queue.Queue = queue.Queue(maxsize=2)
        self._sender: Optional[threading.Thread] = None
        self._send_error: Optional[BaseException] = None

    # lifecycle --------------------------------------------------------------------------------------
    def begin(self) -> RawLoad:
        conn = self.database.connect(self.database.raw_name, local_infile=self._local_infile)
        self._conn = conn
        with conn.cursor() as cur:
            # no gap locks: a load completing (INSERT ... SELECT from the versions) never deadlocks with
            # another load appending versions beside it
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cur.execute("SELECT GET_LOCK(%s, 0)", (_load_lock(self.load_id),))
            if cur.fetchone()[0] != 1:
                raise LoadError(f"could not take the lock of load {self.load_id}")
            cur.execute(
                f"INSERT INTO `{LOADS}` (load_id, kind, connection_id, scope_key, status, started_at, host)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    self.load_id,
                    self.kind,
                    self.connection_id,
                    self.scope_key,
                    PENDING,
                    _now(),
                    f"{socket.gethostname()}:{os.getpid()}"[:255],
                ),
            )
            if self._local_infile:
                cur.execute("SELECT @@local_infile")
                self._local_infile = bool(int(cur.fetchone()[0] or 0))
        self._reader = self.database.connect(self.database.raw_name)
        self._sender = threading.Thread(
            target=self._send_chunks, name=f"load-{self.load_id[:8]}", daemon=True
        )
        self._sender.start()
        return self

    def close(self) -> None:
        """Give the connections (and the load's lock) back. A load not completed stays pending until the next
        load deletes its rows; `abandon()` does it at once."""
        self._stop_sender()
        for conn in (self._conn, self._reader):
            if conn is not None:
                try:
                    conn.close()
                except pymysql.err.Error:
                    pass
        self._conn = self._reader = None

    def __enter__(self) -> RawLoad:
        return self.begin()

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None and not self.completed:
            self.abandon()
        self.close()

    # writing ----------------------------------------------------------------------------------------
    def write(self, table: RawTable, rows: Iterable[Row]) -> None:
        buffer = self._buffers.setdefault(table.name, _Buffer(table))
        for row in rows:
            buffer.rows.append(row)
            if len(buffer.rows) >= self._chunk_rows:
                self._flush(buffer)

    def flush(self) -> None:
        """Everything given to write() is in the versions tables (not yet visible)."""
        for buffer in self._buffers.values():
            if buffer.rows:
                self._flush(buffer)
        self._chunks.join()
        self._raise_send_error()

    # the rows are encoded in the calling thread and sent by a thread of the load's own, so that the database
    # writes one chunk while the next pages are fetched and encoded
    def _send_chunks(self) -> None:
        while True:
            item = self._chunks.get()
            try:
                if item is None:
                    return
                if self._send_error is None:
                    table, names, payload, count = item
                    write = self._load_data if self._local_infile else self._insert
                    _retrying(partial(write, table, names, payload, count))
                    checkpoint(f"write:{table.name}")
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                self._send_error = exc
            finally:
                self._chunks.task_done()

    def _stop_sender(self) -> None:
        if self._sender is not None and self._sender.is_alive():
            self._chunks.put(None)
            self._sender.join(timeout=60)
        self._sender = None

    def _raise_send_error(self) -> None:
        if self._send_error is not None:
            error, self._send_error = self._send_error, None
            raise error

    def _unchanged(self, table: RawTable, rows: list[Row]) -> set[tuple]:
        """Keys of rows whose content the lake holds already as the current version: not written again, so
        a rerun's versions grow with what changed, not with what was read."""
        if "content_hash" not in table.column_names:
            return set()
        known = self._has_current.get(table.name)
        if self._reader is None:
            raise LoadError("the load is not open")
        cur = self._reader.cursor()
        if known is None:
            cur.execute(
                f"SELECT 1 FROM `{table.name}` WHERE connection_id = %s LIMIT 1", (self.connection_id,)
            )
            known = self._has_current[table.name] = cur.fetchone() is not None
        if not known:
            return set()
        ids = sorted({row["id"] for row in rows})
        cur.execute(
            f"SELECT id, content_hash FROM `{table.name}` WHERE connection_id = %s"
            f" AND id IN ({', '.join(['%s'] * len(ids))})",
            (self.connection_id, *ids),
        )
        held = dict(cur.fetchall())
        return {row["id"] for row in rows if held.get(row["id"]) == row["content_hash"]}

    def _flush(self, buffer: _Buffer) -> None:
        table, rows = buffer.table, buffer.rows
        buffer.rows = []
        unchanged = self._unchanged(table, rows)
        if unchanged:
            rows = [row for row in rows if row["id"] not in unchanged]
            self.skipped[table.name] = self.skipped.get(table.name, 0) + len(unchanged)
        if not rows:
            return
        names = table.column_names
        if self._local_infile:
            payload: Any = encode_rows(self.load_id, self._encoders[table.name], names, rows)
        else:
            converters = self._python[table.name]
            payload = [
                (self.load_id, *(conv(row[name]) for conv, name in zip(converters, names, strict=True)))
                for row in rows
            ]
        self._raise_send_error()
        self._chunks.put((table, names, payload, len(rows)))
        self.written[table.name] = self.written.get(table.name, 0) + len(rows)

    def _load_data(self, table: RawTable, names: Sequence[str], body: bytes, count: int) -> None:
        with _memory_file(body) as path:
            columns = ", ".join(["load_id", *(f"`{n}`" for n in names)])
            cur = self._cursor()
            cur.execute(
                f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE `{table.versions}` CHARACTER SET utf8mb4"
                f" FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({columns})"
            )
            # LOAD DATA LOCAL turns errors into warnings (the server cannot stop the client's file): a
            # truncated title or a mangled time would pass quietly, so any warning fails the load
            warnings = self._conn.show_warnings() if cur.rowcount != count or cur.warning_count else ()
        if warnings or cur.rowcount != count:
            detail = warnings[0][2] if warnings else f"{cur.rowcount} of {count} rows loaded"
            raise LoadError(f"writing {table.versions}: {detail}")

    def _insert(self, table: RawTable, names: Sequence[str], values: list[tuple], count: int) -> None:
        columns = ", ".join(["load_id", *(f"`{n}`" for n in names)])
        placeholders = ", ".join(["%s"] * (len(names) + 1))
        self._cursor().executemany(
            f"INSERT INTO `{table.versions}` ({columns}) VALUES ({placeholders})", values
        )

    def _cursor(self) -> pymysql.cursors.Cursor:
        if self._conn is None:
            raise LoadError("the load is not open")
        return self._conn.cursor()

    # completing -------------------------------------------------------------------------------------
    def complete(
        self, state: Optional[dict[str, Any]] = None, gone: Sequence[str] = (), measure_drift: bool = False
    ) -> int:
        """Make the load visible, all at once; returns its sequence number. A deadlock with another load
        completing rolls the transaction back whole, and it is tried again.

        `gone`: ids of incidents PagerDuty no longer has, removed from the current table in the same
        transaction. `measure_drift`: compare the load's incidents with the lake's first (`self.drift`)."""
        return _retrying(lambda: self._complete(state, gone, measure_drift))

    def _complete(self, state: Optional[dict[str, Any]], gone: Sequence[str], measure_drift: bool) -> int:
        self.flush()
        self._stop_sender()
        conn = self._conn
        if conn is None:
            raise LoadError("the load is not open")
        cur = conn.cursor()
        cur.execute("SELECT GET_LOCK(%s, %s)", (_completion_lock(self.database), COMPLETION_WAIT_SECONDS))
        if cur.fetchone()[0] != 1:
            raise LoadError(
                f"another load kept {self.database.raw_name} busy for {COMPLETION_WAIT_SECONDS} s"
            )
        try:
            cur.execute("SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", (_load_lock(self.load_id),))
            if cur.fetchone()[0] != 1:  # our connection was lost and our rows may have been cleaned up
                raise LoadError(
                    f"load {self.load_id} lost its lock before completing; the next run redoes it"
                )
            for table in RAW_TABLES:
                cur.execute(f"SELECT COUNT(*) FROM `{table.versions}` WHERE load_id = %s", (self.load_id,))
                found = cur.fetchone()[0]
                if found != self.written.get(table.name, 0):
                    raise LoadError(
                        f"load {self.load_id}: {table.versions} holds {found} rows of it,"
                        f" {self.written.get(table.name, 0)} were written"
                    )
            cur.execute("BEGIN")
            cur.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM `{LOADS}`")
            seq = int(cur.fetchone()[0])
            if measure_drift:
                self.drift = _drift(cur, self.load_id)
            if self.kind == "deployments":
                _replace_all(cur, DEPLOYMENTS, self.load_id, seq)
            else:
                for table in PAGERDUTY_TABLES:
                    if self.written.get(table.name):
                        _replace_newer(cur, table, self.load_id, seq)
            if gone:
                removed = _remove_gone(cur, self.connection_id, gone, seq)
                if self.drift is not None:
                    self.drift.gone = removed
            cur.execute(
                f"UPDATE `{LOADS}` SET seq = %s, status = %s, completed_at = %s, state = %s, row_counts = %s"
                " WHERE load_id = %s AND status = %s",
                (
                    seq,
                    COMPLETED,
                    _now(),
                    orjson.dumps(state).decode() if state is not None else None,
                    orjson.dumps(
                        {
                            "written": self.written,
                            "unchanged": self.skipped,
                            **({"drift": self.drift.to_json()} if self.drift else {}),
                        }
                    ).decode(),
                    self.load_id,
                    PENDING,
                ),
            )
            if cur.rowcount != 1:
                raise LoadError(f"load {self.load_id} was no longer pending")
            checkpoint("complete")
            cur.execute("COMMIT")
            self.completed = True
            return seq
        except BaseException:
            try:
                cur.execute("ROLLBACK")
            except pymysql.err.Error:
                pass
            raise
        finally:
            try:
                cur.execute("SELECT RELEASE_LOCK(%s)", (_completion_lock(self.database),))
            except pymysql.err.Error:
                pass

    def abandon(self) -> None:
        """Delete this load's rows now (a failed load; best effort: the next load does it otherwise)."""
        self._stop_sender()
        if self._conn is None:
            return
        try:
            _delete_load(self._conn.cursor(), self.load_id)
        except pymysql.err.Error:
            pass  # the connection is gone: the next load deletes the rows


_RETRYABLE = (1213, 1205)  # deadlock, lock wait timeout: the statement or transaction was rolled back


def _retrying(action, attempts: int = 4):  # noqa: ANN001, ANN202
    """Run `action`, again after a deadlock or a lock wait timeout (which roll it back whole)."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except pymysql.err.OperationalError as exc:
            if attempt == attempts or not exc.args or exc.args[0] not in _RETRYABLE:
                raise
            time.sleep(0.2 * attempt)
    return None


def _replace_newer(cur: pymysql.cursors.Cursor, table: RawTable, load_id: str, seq: int) -> None:
    """The load's latest version of each object becomes current, unless the lake holds a newer one (two
    loads of one connection completing out of order): newer by PagerDuty's own updated_at where the object
    has one, else by when it was read."""
    names = [c.name for c in table.current_columns]
    keys = list(table.keys)
    order = "COALESCE({a}.updated_at, {a}.fetched_at)" if "updated_at" in names else "{a}.fetched_at"
    on = " AND ".join(f"c.`{k}` = v.`{k}`" for k in keys)
    cur.execute(
        f"DELETE c FROM `{table.name}` AS c INNER JOIN `{table.versions}` AS v ON {on}"
        f" WHERE v.load_id = %s AND {order.format(a='v')} >= {order.format(a='c')}",
        (load_id,),
    )
    # newest first: INSERT IGNORE keeps the first row per key, the load's latest version of each object
    columns = ", ".join(f"`{n}`" for n in names)
    cur.execute(
        f"INSERT IGNORE INTO `{table.name}` ({columns}, version_id, load_seq)"
        f" SELECT {columns}, version_id, %s FROM `{table.versions}` WHERE load_id = %s"
        " ORDER BY version_id DESC",
        (seq, load_id),
    )


def _drift(cur: pymysql.cursors.Cursor, load_id: str) -> Drift:
    """The load's incidents (the last version of each) against the lake's current rows, field by field. A
    version is written only where PagerDuty's object changed, so this reads what differs and nothing else."""
    checks = list(DRIFT_FIELDS.values())
    sums = ", ".join(f"SUM(CASE WHEN c.id IS NOT NULL AND ({check}) THEN 1 ELSE 0 END)" for check in checks)
    any_field = " OR ".join(f"({check})" for check in checks)
    cur.execute(
        f"SELECT SUM(CASE WHEN c.id IS NULL THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN c.id IS NOT NULL AND ({any_field}) THEN 1 ELSE 0 END), {sums}"
        " FROM (SELECT MAX(version_id) AS version_id FROM `incidents_versions` WHERE load_id = %s"
        " GROUP BY connection_id, id) AS latest"
        " INNER JOIN `incidents_versions` AS v ON v.version_id = latest.version_id"
        " LEFT JOIN `incidents` AS c ON c.connection_id = v.connection_id AND c.id = v.id",
        (load_id,),
    )
    missing, differed, *counts = (int(value or 0) for value in cur.fetchone())
    return Drift(differed, dict(zip(DRIFT_FIELDS, counts, strict=True)), missing)


def _remove_gone(
    cur: pymysql.cursors.Cursor, connection_id: Optional[int], ids: Sequence[str], seq: int
) -> int:
    """Incidents PagerDuty no longer has leave the current table; `incidents_deleted` says which load removed
    them (their versions stay, as every version does). Returns how many the lake held."""
    removed = 0
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        marks = ", ".join(["%s"] * len(chunk))
        cur.execute(
            f"INSERT INTO `{DELETED}` (connection_id, id, incident_number, load_seq)"
            f" SELECT connection_id, id, incident_number, %s FROM `incidents`"
            f" WHERE connection_id = %s AND id IN ({marks})",
            (seq, connection_id, *chunk),
        )
        removed += cur.rowcount
        cur.execute(
            f"DELETE FROM `incidents` WHERE connection_id = %s AND id IN ({marks})", (connection_id, *chunk)
        )
    return removed


def _replace_all(cur: pymysql.cursors.Cursor, table: RawTable, load_id: str, seq: int) -> None:
    """A snapshot load (the deployments file): its rows become the whole current table."""
    names = ", ".join(f"`{c.name}`" for c in table.current_columns)
    cur.execute(f"DELETE FROM `{table.name}`")
    cur.execute(
        f"INSERT INTO `{table.name}` ({names}, version_id, load_seq)"
        f" SELECT {names}, version_id, %s FROM `{table.versions}` WHERE load_id = %s",
        (seq, load_id),
    )


def _delete_load(cur: pymysql.cursors.Cursor, load_id: str) -> None:
    for table in RAW_TABLES:
        cur.execute(f"DELETE FROM `{table.versions}` WHERE load_id = %s", (load_id,))
    cur.execute(
        f"UPDATE `{LOADS}` SET status = %s WHERE load_id = %s AND status = %s", (ABANDONED, load_id, PENDING)
    )


def clean_abandoned(database: Database) -> list[str]:
    """Delete the rows of loads whose process died before completing (pending, with nobody holding their
    lock). Safe beside running loads: a live load holds its lock from before it registers until it is done."""
    cleaned = []
    with database.connect(database.raw_name) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT load_id FROM `{LOADS}` WHERE status = %s", (PENDING,))
        for (load_id,) in cur.fetchall():
            cur.execute("SELECT IS_FREE_LOCK(%s)", (_load_lock(load_id),))
            if cur.fetchone()[0] != 1:
                continue
            cur.execute("BEGIN")
            cur.execute(f"SELECT status FROM `{LOADS}` WHERE load_id = %s FOR UPDATE", (load_id,))
            row = cur.fetchone()
            if row and row[0] == PENDING:
                _delete_load(cur, load_id)
                cleaned.append(load_id)
            cur.execute("COMMIT")
    return cleaned


def record_scopes(
    database: Database,
    blueprint: str,
    project: str,
    scopes: Sequence[tuple[int, Optional[Sequence[str]], datetime]],
) -> bool:
    """The scopes a blueprint covers now, replacing what it covered before (one transaction). dbt keeps in the
    lake exactly the incidents some recorded scope covers. Returns whether anything changed."""
    rows = sorted(
        {
            (connection_id, service, start.astimezone(UTC).replace(tzinfo=None))
            for connection_id, services, start in scopes
            for service in (services or ["*"])
        }
    )
    with database.connect(database.raw_name) as conn, conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute(
            f"SELECT connection_id, service_id, start_date, project FROM `{SCOPES}` WHERE blueprint = %s"
            " ORDER BY 1, 2, 3 FOR UPDATE",
            (blueprint,),
        )
        before = cur.fetchall()
        if [row[:3] for row in before] == rows and all(row[3] == project for row in before):
            cur.execute("COMMIT")
            return False
        cur.execute(f"DELETE FROM `{SCOPES}` WHERE blueprint = %s", (blueprint,))
        cur.executemany(
            f"INSERT INTO `{SCOPES}` (blueprint, project, connection_id, service_id, start_date, recorded_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(blueprint, project, c, s, d, _now()) for c, s, d in rows],
        )
        cur.execute("COMMIT")
        return True


def forget_connection_scopes(database: Database, connection_id: int) -> None:
    """A deleted connection covers nothing any more: its incidents leave the lake on the next dbt build."""
    try:
        with database.connect(database.raw_name) as conn, conn.cursor() as cur:
            cur.execute(f"DELETE FROM `{SCOPES}` WHERE connection_id = %s", (connection_id,))
    except pymysql.err.Error as exc:
        if exc.args and exc.args[0] in (1049, 1146):  # no raw database or table yet: nothing to forget
            return
        raise


# ------------------------------------------------------------------------------------ reading the lake
def scope_state(database: Database, scope_key: str) -> Optional[dict[str, Any]]:
    """The state the latest completed load of a scope left, or None (never loaded)."""
    try:
        with database.connect(database.raw_name) as conn, conn.cursor() as cur:
            cur.execute(
                f"SELECT state FROM `{LOADS}` WHERE scope_key = %s AND status = %s ORDER BY seq DESC LIMIT 1",
                (scope_key, COMPLETED),
            )
            row = cur.fetchone()
    except pymysql.err.Error as exc:
        if exc.args and exc.args[0] in (1049, 1146):  # no raw database or ledger yet: never loaded
            return None
        raise
    return orjson.loads(row[0]) if row and row[0] else None


@dataclass
class LakeScope:
    """What the lake holds for one scope, as of completed loads (the source's `LakeView`)."""

    database: Database
    connection_id: int
    start_date: datetime
    service_ids: Optional[Sequence[str]]

    def open_incidents(self) -> set[str]:
        sql = (
            "SELECT id FROM `incidents`"
            " WHERE connection_id = %s AND status <> 'resolved' AND created_at >= %s"
        )
        args: list[Any] = [self.connection_id, self.start_date.astimezone(UTC).replace(tzinfo=None)]
        if self.service_ids:
            sql += f" AND service_id IN ({', '.join(['%s'] * len(self.service_ids))})"
            args.extend(self.service_ids)
        with self.database.connect(self.database.raw_name) as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return {row[0] for row in cur.fetchall()}

    def incidents_since(self, since: datetime) -> set[str]:
        sql = "SELECT id FROM `incidents` WHERE connection_id = %s AND created_at >= %s"
        args: list[Any] = [
            self.connection_id,
            max(since, self.start_date.astimezone(UTC).replace(tzinfo=None)),
        ]
        if self.service_ids:
            sql += f" AND service_id IN ({', '.join(['%s'] * len(self.service_ids))})"
            args.extend(self.service_ids)
        with self.database.connect(self.database.raw_name) as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return {row[0] for row in cur.fetchall()}

    def held_incidents(self, ids: set[str]) -> dict[str, datetime]:
        held: dict[str, datetime] = {}
        ordered = sorted(ids)
        with self.database.connect(self.database.raw_name) as conn, conn.cursor() as cur:
            for start in range(0, len(ordered), 1000):
                chunk = ordered[start : start + 1000]
                cur.execute(
                    f"SELECT id, fetched_at FROM `incidents` WHERE connection_id = %s"
                    f" AND id IN ({', '.join(['%s'] * len(chunk))})",
                    (self.connection_id, *chunk),
                )
                held.update(cur.fetchall())
        return held


# ------------------------------------------------------------------------------------------------ helpers
def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _load_lock(load_id: str) -> str:
    return f"pdd:load:{load_id}"


def _completion_lock(database: Database) -> str:
    digest = hashlib.sha1(f"{database.host}:{database.port}/{database.raw_name}".encode()).hexdigest()[:24]
    return f"pdd:complete:{digest}"


@contextmanager
def _memory_file(body: bytes) -> Iterator[str]:
    """A path to `body` that leaves nothing on disk, even if the process is killed (Linux memfd); elsewhere a
    private temporary file removed at once."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("pagerduty-rows", os.MFD_CLOEXEC)
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    handle = tempfile.NamedTemporaryFile(prefix="pagerduty-rows-", delete=False)  # noqa: SIM115
    try:
        handle.write(body)
        handle.close()
        yield handle.name.replace("\\", "/")
    finally:
        os.unlink(handle.name)
