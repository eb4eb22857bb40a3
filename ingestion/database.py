"""The one database setting, DB_URL, in DevLake's form: mysql://user:password@host:port/lake.

The database it names receives the dbt models; raw tables go to `<that name>_raw`. DevLake's URLs carry Go
driver options (`?charset=utf8mb4&parseTime=True&loc=UTC`): they are accepted and ignored, since we always
talk utf8mb4 and UTC.
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
_SCHEMES = {"mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql"}
_NAME = re.compile(r"^[A-Za-z0-9_]{1,50}$")


class DatabaseUrlError(ValueError):
    """DB_URL cannot be used; the message never repeats the password."""


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    name: str
    dialect: str = "mysql"

    @property
    def raw_name(self) -> str:
        return f"{self.name}_raw"

    @property
    def all_names(self) -> tuple[str, ...]:
        """Every database this project writes: models, raw tables and dlt's merge staging."""
        return (self.name, self.raw_name, f"{self.raw_name}_staging")

    def sqlalchemy_url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"mysql+pymysql://{auth}@{self.host}:{self.port}/?charset=utf8mb4"

    def connect(self, database: Optional[str] = None) -> pymysql.connections.Connection:
        """A pymysql connection in UTC (dlt stores naive UTC datetimes; comparisons must agree)."""
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            charset="utf8mb4",
            autocommit=True,
            init_command="SET time_zone = '+00:00'",
        )

    def ensure_databases(self) -> None:
        """Create our databases in utf8mb4, so titles with emoji arrive intact. All three get the server's
        default utf8mb4 collation: dlt's merge compares keys across the raw and staging databases."""
        with self.connect() as conn, conn.cursor() as cur:
            for name in self.all_names:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")

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
