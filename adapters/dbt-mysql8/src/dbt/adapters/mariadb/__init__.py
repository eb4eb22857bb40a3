"""`type: mariadb` (MariaDB 10.11+): the mysql adapter with MariaDB's own forms where they differ. Its macros
are searched first (mariadb__), then mysql's (mysql__, as `dependencies` says), then dbt's (default__)."""

from dbt.adapters.base import AdapterPlugin
from dbt.adapters.mysql8 import MariaDBAdapter, MariaDBCredentials
from dbt.include import mariadb

Plugin = AdapterPlugin(
    adapter=MariaDBAdapter,  # type: ignore[arg-type]
    credentials=MariaDBCredentials,
    include_path=mariadb.PACKAGE_PATH,
    dependencies=["mysql"],
)
