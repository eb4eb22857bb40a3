"""The adapter: what dbt asks of MySQL 8 and MariaDB that their SQL answers unlike dbt's defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from dbt.adapters.base.impl import ConstraintSupport
from dbt.adapters.mysql8.column import MySQLColumn
from dbt.adapters.mysql8.connections import MariaDBConnectionManager, MySQLConnectionManager
from dbt.adapters.mysql8.relation import MySQLRelation
from dbt.adapters.sql import SQLAdapter
from dbt_common.contracts.constraints import ConstraintType
from dbt_common.exceptions import DbtRuntimeError

if TYPE_CHECKING:
    import agate

LIST_RELATIONS_MACRO_NAME = "list_relations_without_caching"
GET_COLUMNS_MACRO_NAME = "get_columns_in_relation"


class MySQLAdapter(SQLAdapter):
    Relation = MySQLRelation
    Column = MySQLColumn
    ConnectionManager = MySQLConnectionManager

    # constraints go into CREATE TABLE (col defs) SELECT ..., where both servers enforce these
    CONSTRAINT_SUPPORT = {
        ConstraintType.check: ConstraintSupport.ENFORCED,
        ConstraintType.not_null: ConstraintSupport.ENFORCED,
        ConstraintType.unique: ConstraintSupport.ENFORCED,
        ConstraintType.primary_key: ConstraintSupport.ENFORCED,
        ConstraintType.foreign_key: ConstraintSupport.NOT_SUPPORTED,
    }

    @classmethod
    def date_function(cls) -> str:
        return "current_timestamp()"

    @classmethod
    def quote(cls, identifier: str) -> str:
        return "`{}`".format(str(identifier).replace("`", "``"))

    # seeds: agate's column types in MySQL's words
    @classmethod
    def convert_text_type(cls, agate_table: agate.Table, col_idx: int) -> str:
        return "text"

    @classmethod
    def convert_number_type(cls, agate_table: agate.Table, col_idx: int) -> str:
        import agate

        decimals = agate_table.aggregate(agate.MaxPrecision(col_idx))
        return "double" if decimals else "bigint"

    @classmethod
    def convert_integer_type(cls, agate_table: agate.Table, col_idx: int) -> str:
        return "bigint"

    @classmethod
    def convert_boolean_type(cls, agate_table: agate.Table, col_idx: int) -> str:
        return "boolean"

    @classmethod
    def convert_datetime_type(cls, agate_table: agate.Table, col_idx: int) -> str:
        return "datetime(6)"

    @classmethod
    def convert_date_type(cls, agate_table: agate.Table, col_idx: int) -> str:
        return "date"

    @classmethod
    def convert_time_type(cls, agate_table: agate.Table, col_idx: int) -> str:
        return "time"

    def list_relations_without_caching(self, schema_relation: MySQLRelation) -> list[MySQLRelation]:
        rows = self.execute_macro(LIST_RELATIONS_MACRO_NAME, kwargs={"schema_relation": schema_relation})
        relations = []
        for schema, name, kind in rows:
            relations.append(
                self.Relation.create(
                    schema=schema,
                    identifier=name,
                    type=self.Relation.View if kind == "VIEW" else self.Relation.Table,
                )
            )
        return relations

    def get_columns_in_relation(self, relation: MySQLRelation) -> list[MySQLColumn]:
        """SHOW COLUMNS: it sees temporary tables too, which information_schema does not."""
        try:
            rows = self.execute_macro(GET_COLUMNS_MACRO_NAME, kwargs={"relation": relation})
        except DbtRuntimeError as error:
            if "doesn't exist" in str(error):  # dbt asks about relations it may not have built yet
                return []
            raise
        return [MySQLColumn.from_show_columns(row[0], row[1]) for row in rows]

    def list_schemas(self, database: Optional[str]) -> list[str]:
        return [row[0] for row in self.execute_macro("list_schemas", kwargs={"database": database})]

    def check_schema_exists(self, database: Optional[str], schema: str) -> bool:
        return schema.lower() in (name.lower() for name in self.list_schemas(database))

    def get_relation(self, database: Optional[str], schema: str, identifier: str) -> Optional[MySQLRelation]:
        return super().get_relation(None, schema, identifier)

    @classmethod
    def _catalog_filter_table(
        cls, table: agate.Table, used_schemas: frozenset[tuple[str, str]]
    ) -> agate.Table:
        """dbt keys catalogs by (database, schema); here there is only the schema (table_database is null)."""
        from dbt_common.clients.agate_helper import table_from_rows

        table = table_from_rows(
            table.rows,
            table.column_names,
            text_only_columns=[
                "table_database",
                "table_schema",
                "table_name",
                "table_type",
                "table_comment",
                "table_owner",
                "column_name",
                "column_type",
                "column_comment",
            ],
        )
        schemas = {schema.lower() for _, schema in used_schemas if schema is not None}
        return table.where(lambda row: (row["table_schema"] or "").lower() in schemas)

    def valid_incremental_strategies(self) -> list[str]:
        return ["append", "delete+insert"]

    # used by dbt's adapter conformance tests
    def timestamp_add_sql(self, add_to: str, number: int = 1, interval: str = "hour") -> str:
        return f"date_add({add_to}, interval {number} {interval})"

    def string_add_sql(self, add_to: str, value: str, location: str = "append") -> str:
        if location == "append":
            return f"concat({add_to}, '{value}')"
        if location == "prepend":
            return f"concat('{value}', {add_to})"
        raise DbtRuntimeError(f'Got an unexpected location value of "{location}"')


class MariaDBAdapter(MySQLAdapter):
    ConnectionManager = MariaDBConnectionManager
