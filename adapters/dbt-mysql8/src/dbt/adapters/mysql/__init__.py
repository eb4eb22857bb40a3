"""dbt loads an adapter from `dbt.adapters.<type>`: this is `type: mysql` (MySQL 8)."""

from dbt.adapters.base import AdapterPlugin
from dbt.adapters.mysql8 import MySQLAdapter, MySQLCredentials
from dbt.include import mysql

Plugin = AdapterPlugin(
    adapter=MySQLAdapter,  # type: ignore[arg-type]
    credentials=MySQLCredentials,
    include_path=mysql.PACKAGE_PATH,
)
