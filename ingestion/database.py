"""The one database setting, DB_URL, in DevLake's form: mysql://user:password@host:port/lake.

The database it names receives the dbt models; raw tables go to `<that name>_raw`. DevLake's URLs carry Go
driver options (`?charset=utf8mb4&parseTime=True&loc=UTC`): they are accepted and ignored, since we always
talk utf8mb4 and UTC.

The project writes only into databases it created. Each one it creates holds a marker table; a database that
exists without the marker and holds any table (DevLake's own `lake`, with its Jira and GitHub data in
`issues`) is refused before anything is written anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import quote, unquote, urlsplit

import pymysql

DEFAULT_DB_URL = "mysql://root@127.0.0.1:3306/lake"
_CLAIMED: set[tuple[str, int, str]] = set()
_SCHEMES = {"mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql"}
_NAME = re.compile(r"^[A-Za-z0-9_]{1,50}$")


MARKER_TABLE = "_pagerduty_dora"
"""Present in every database this project created: the only databases it writes into."""


class DatabaseUrlError(ValueError):
    """DB_URL cannot be used; the message never repeats the password."""


class NotOurDatabase(ValueError):
    """DB_URL names a database this project did not create and that holds tables: refused, nothing written."""


class LakeMissing(ValueError):
    """A command that only reads was pointed at a lake that does not exist (a mistyped DB_URL): nothing is
    created."""


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    name: str
    dialect: str = "mysql"
    may_create: bool = field(default=True, compare=False)
    """False for commands that only read: a lake that does not exist is an error, never created."""

    @property
    def raw_name(self) -> str:
        return f"{self.name}_raw"

    @property
    def staging_name(self) -> str:
        """Where dbt builds the staging and intermediate models, apart from what BI tools read."""
        return f"{self.name}_staging"

    @property
    def all_names(self) -> tuple[str, ...]:
        """Every database this project writes: the lake (DevLake's tables and the metric views), the staging
        and intermediate models, and the raw tables."""
        return (self.name, self.staging_name, self.raw_name)

    def sqlalchemy_url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"mysql+pymysql://{auth}@{self.host}:{self.port}/?charset=utf8mb4"

    def connect(
        self, database: Optional[str] = None, local_infile: bool = False
    ) -> pymysql.connections.Connection:
        """A pymysql connection in UTC (the lake stores naive UTC datetimes; comparisons must agree)."""
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            charset="utf8mb4",
            autocommit=True,
            local_infile=local_infile,
            init_command="SET time_zone = '+00:00'",
        )

    def foreign_tables(self) -> dict[str, list[str]]:
        """Our databases that exist without our marker, with the tables they hold (empty ones are fine)."""
        found: dict[str, list[str]] = {}
        with self.connect() as conn, conn.cursor() as cur:
            for name in self.all_names:
                cur.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
                    (name,),
                )
                tables = sorted(row[0] for row in cur.fetchall())
                if tables and MARKER_TABLE not in tables:
                    found[name] = tables
        return found

    def existing(self) -> set[str]:
        """Which of this project's databases exist on the server."""
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name IN"
                f" ({', '.join(['%s'] * len(self.all_names))})",
                self.all_names,
            )
            return {row[0] for row in cur.fetchall()}

    def claim(self) -> tuple[str, ...]:
        """Create the lake's databases (utf8mb4, so titles with emoji arrive intact), or confirm they are
        ours; returns those it created. Raises NotOurDatabase, having written nothing, for a database another
        program filled, and LakeMissing (with `may_create` off) for a lake that does not exist."""
        if (self.host, self.port, self.name) in _CLAIMED:
            return ()
        existing = self.existing()
        if not self.may_create and self.name not in existing:
            raise LakeMissing(
                f"the lake {self.describe()} does not exist: check DB_URL (run.py run, reconcile, schedule"
                " and serve create a lake; this command only reads one)"
            )
        foreign = self.foreign_tables()
        if foreign:
            name, tables = next(iter(foreign.items()))
            shown = ", ".join(tables[:4]) + (", ..." if len(tables) > 4 else "")
            raise NotOurDatabase(
                f"database {name} holds tables this project did not create ({shown}); it writes only into"
                " databases of its own: set DB_URL to a new database name (e.g. .../pagerduty_lake) and point"
                " DevLake's or any Grafana at that database"
            )
        with self.connect() as conn, conn.cursor() as cur:
            for name in self.all_names:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS `{name}`.`{MARKER_TABLE}` (created_at DATETIME NOT NULL,"
                    " note VARCHAR(255) NOT NULL)"
                )
                cur.execute(
                    f"INSERT INTO `{name}`.`{MARKER_TABLE}` (created_at, note)"
                    f" SELECT UTC_TIMESTAMP(), 'created by pagerduty-dora; it writes only into databases'"
                    f" ' holding this table' FROM DUAL"
                    f" WHERE NOT EXISTS (SELECT 1 FROM `{name}`.`{MARKER_TABLE}`)"
                )
        _CLAIMED.add((self.host, self.port, self.name))
        return tuple(name for name in self.all_names if name not in existing)

    def ensure_databases(self) -> tuple[str, ...]:
        """The lake's databases exist and are ours (see claim); those it created."""
        return self.claim()

    def describe(self) -> str:
        """Where data goes, for messages: no password."""
        return f"{self.user}@{self.host}:{self.port}/{self.name}"


def parse_db_url(url: str) -> Database:
    """Parse a DevLake DB_URL; every problem is one clear sentence."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or 3306
    except ValueError:
        raise DatabaseUrlError(
            "DB_URL is not a URL of the form mysql://user:password@host:port/lake"
        ) from None
    if parts.scheme.lower() not in _SCHEMES:
        raise DatabaseUrlError(f"DB_URL must start with mysql:// (got {parts.scheme or 'no scheme'}://)")
    name = unquote(parts.path.lstrip("/"))
    if not _NAME.match(name):
        raise DatabaseUrlError(
            "DB_URL must name the database after the host (mysql://user@host:3306/lake), using letters,"
            " digits and _ only"
        )
    return Database(
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        name=name,
        dialect="mariadb" if parts.scheme.lower().startswith("mariadb") else "mysql",
    )


def database_from_env(environ: Mapping[str, str] = os.environ) -> Database:
    return parse_db_url(environ.get("DB_URL") or DEFAULT_DB_URL)


def drop_databases(database: Database, names: tuple[str, ...] = ()) -> None:
    """Drop this project's databases (tests; a reload from scratch): the next run loads everything again."""
    with database.connect() as conn, conn.cursor() as cur:
        for name in names or database.all_names:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    _CLAIMED.discard((database.host, database.port, database.name))
