"""Credentials and connections, over PyMySQL (the driver the application itself uses)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Union

import pymysql
from dbt.adapters.contracts.connection import AdapterResponse, Connection, Credentials
from dbt.adapters.events.logging import AdapterLogger
from dbt.adapters.sql import SQLConnectionManager
from dbt_common.exceptions import DbtDatabaseError, DbtRuntimeError
from pymysql.constants import FIELD_TYPE

logger = AdapterLogger("mysql")

# cursor.description's type codes, named as the types a table's DDL declares (contracts compare these names)
_TYPE_NAMES = {
    FIELD_TYPE.DECIMAL: "decimal",
    FIELD_TYPE.NEWDECIMAL: "decimal",
    FIELD_TYPE.TINY: "tinyint",
    FIELD_TYPE.SHORT: "smallint",
    FIELD_TYPE.INT24: "mediumint",
    FIELD_TYPE.LONG: "int",
    FIELD_TYPE.LONGLONG: "bigint",
    FIELD_TYPE.FLOAT: "float",
    FIELD_TYPE.DOUBLE: "double",
    FIELD_TYPE.NULL: "null",
    FIELD_TYPE.TIMESTAMP: "timestamp",
    FIELD_TYPE.DATE: "date",
    FIELD_TYPE.NEWDATE: "date",
    FIELD_TYPE.TIME: "time",
    FIELD_TYPE.DATETIME: "datetime",
    FIELD_TYPE.YEAR: "year",
    FIELD_TYPE.VARCHAR: "varchar",
    FIELD_TYPE.VAR_STRING: "varchar",
    FIELD_TYPE.STRING: "char",
    FIELD_TYPE.BIT: "bit",
    FIELD_TYPE.JSON: "json",
    FIELD_TYPE.ENUM: "enum",
    FIELD_TYPE.SET: "set",
    FIELD_TYPE.TINY_BLOB: "text",
    FIELD_TYPE.MEDIUM_BLOB: "text",
    FIELD_TYPE.LONG_BLOB: "text",
    FIELD_TYPE.BLOB: "text",
    FIELD_TYPE.GEOMETRY: "geometry",
}


@dataclass
class MySQLCredentials(Credentials):
    """A profile's `type: mysql` output. MySQL has no level above the database, which dbt calls `schema`:
    `database` is left out, or equal to `schema`."""

    database: Optional[str] = None  # type: ignore[assignment]
    schema: str = ""
    server: str = "127.0.0.1"
    port: int = 3306
    username: Optional[str] = None
    password: Optional[str] = None
    unix_socket: Optional[str] = None
    charset: str = "utf8mb4"
    connect_timeout: int = 10
    retries: int = 1

    _ALIASES: ClassVar[dict[str, str]] = {
        "host": "server",
        "user": "username",
        "pass": "password",
        "dbname": "database",
    }

    def __post_init__(self) -> None:
        if not self.schema:
            raise DbtRuntimeError("a mysql/mariadb profile needs `schema` (the database dbt builds into)")
        if self.database is not None and self.database != self.schema:
            raise DbtRuntimeError(
                f"`database` ({self.database}) must be left out or equal `schema` ({self.schema}): "
                "MySQL and MariaDB have no level above the database"
            )
        self.database = None

    @property
    def type(self) -> str:
        return "mysql"

    @property
    def unique_field(self) -> str:
        return self.server

    def _connection_keys(self) -> tuple[str, ...]:
        return ("server", "port", "unix_socket", "schema", "username", "charset")


@dataclass
class MariaDBCredentials(MySQLCredentials):
    @property
    def type(self) -> str:
        return "mariadb"


def _connect(credentials: MySQLCredentials, **options: object) -> pymysql.connections.Connection:
    """A connection with the profile's address and login: dbt's own and the one that cancels its queries."""
    return pymysql.connect(
        host=credentials.server,
        port=credentials.port,
        unix_socket=credentials.unix_socket,
        user=credentials.username,
        password=credentials.password or "",
        connect_timeout=credentials.connect_timeout,
        **options,
    )


class MySQLConnectionManager(SQLConnectionManager):
    TYPE = "mysql"

    @classmethod
    def open(cls, connection: Connection) -> Connection:
        if connection.state == "open":
            return connection
        credentials: MySQLCredentials = connection.credentials  # type: ignore[assignment]

        def connect() -> pymysql.connections.Connection:
            # dbt opens and commits its own transactions (BEGIN/COMMIT); DDL commits implicitly anyway
            return _connect(credentials, charset=credentials.charset, autocommit=False)

        return cls.retry_connection(
            connection,
            connect=connect,
            logger=logger,
            retryable_exceptions=[pymysql.err.OperationalError],
            retry_limit=credentials.retries,
        )

    def cancel(self, connection: Connection) -> None:
        """Kill the connection's running query from a second connection (closing the handle would wait)."""
        handle = connection.handle
        if handle is None or not getattr(handle, "open", False):
            return
        thread_id = handle.thread_id()
        credentials: MySQLCredentials = connection.credentials  # type: ignore[assignment]
        killer = _connect(credentials)
        try:
            with killer.cursor() as cursor:
                cursor.execute(f"KILL QUERY {int(thread_id)}")
        except pymysql.err.Error as error:
            logger.debug(f"could not cancel {connection.name}: {error}")
        finally:
            killer.close()

    @contextmanager
    def exception_handler(self, sql: str):  # noqa: ANN201
        try:
            yield
        except pymysql.err.Error as error:
            logger.debug(f"MySQL error: {error}")
            try:
                self.rollback_if_open()
            except pymysql.err.Error:
                pass
            raise DbtDatabaseError(str(error)) from error
        except Exception as error:
            logger.debug(f"Error running SQL: {sql}")
            self.rollback_if_open()
            if isinstance(error, DbtRuntimeError):
                raise
            raise DbtRuntimeError(str(error)) from error

    @classmethod
    def get_response(cls, cursor: Any) -> AdapterResponse:
        rows = cursor.rowcount if cursor is not None and cursor.rowcount is not None else -1
        return AdapterResponse(_message=f"OK {rows}" if rows >= 0 else "OK", rows_affected=max(rows, 0))

    @classmethod
    def data_type_code_to_name(cls, type_code: Union[int, str]) -> str:
        return _TYPE_NAMES.get(int(type_code), f"type {type_code}")


class MariaDBConnectionManager(MySQLConnectionManager):
    TYPE = "mariadb"
