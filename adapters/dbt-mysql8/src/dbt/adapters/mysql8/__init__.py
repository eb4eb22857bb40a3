"""The adapter's code, shared by its plugins `mysql` and `mariadb` (dbt.adapters.mysql, .mariadb)."""

from dbt.adapters.mysql8.column import MySQLColumn
from dbt.adapters.mysql8.connections import (
    MariaDBConnectionManager,
    MariaDBCredentials,
    MySQLConnectionManager,
    MySQLCredentials,
)
from dbt.adapters.mysql8.impl import MariaDBAdapter, MySQLAdapter
from dbt.adapters.mysql8.relation import MySQLRelation

__all__ = [
    "MariaDBAdapter",
    "MariaDBConnectionManager",
    "MariaDBCredentials",
    "MySQLAdapter",
    "MySQLColumn",
    "MySQLConnectionManager",
    "MySQLCredentials",
    "MySQLRelation",
]
