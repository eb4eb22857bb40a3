"""Columns as `SHOW COLUMNS` reports them: `varchar(255)`, `int(11)`, `decimal(10,2)`, `datetime(6)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dbt.adapters.base.column import Column

_STRING_TYPES = ("char", "varchar", "text", "tinytext", "mediumtext", "longtext")
_INTEGER_TYPES = ("tinyint", "smallint", "mediumint", "int", "integer", "bigint")
_FLOAT_TYPES = ("float", "double", "real")


@dataclass
class MySQLColumn(Column):
    # dbt's cross-database type names (dbt.type_string() and contracts' `translate_type`), in MySQL's words
    TYPE_LABELS: ClassVar[dict[str, str]] = {
        "STRING": "text",
        "TEXT": "text",
        "TIMESTAMP": "datetime(6)",
        "BOOLEAN": "boolean",
        "INTEGER": "int",
        "BIGINT": "bigint",
        "FLOAT": "double",
        "NUMERIC": "decimal(28,6)",
    }

    @property
    def quoted(self) -> str:
        return f"`{self.column}`"

    @property
    def base_type(self) -> str:
        return self.dtype.lower().split("(")[0].split(" ")[0].strip()

    def is_string(self) -> bool:
        return self.base_type in _STRING_TYPES

    def is_integer(self) -> bool:
        return self.base_type in _INTEGER_TYPES

    def is_float(self) -> bool:
        return self.base_type in _FLOAT_TYPES

    def is_numeric(self) -> bool:
        return self.base_type in ("decimal", "numeric")

    def is_number(self) -> bool:
        return self.is_integer() or self.is_float() or self.is_numeric()

    def string_size(self) -> int:
        if self.base_type in ("text", "tinytext", "mediumtext", "longtext"):
            return {"tinytext": 255, "text": 65535, "mediumtext": 16777215}.get(self.base_type, 4294967295)
        return int(self.char_size) if self.char_size is not None else 255

    @classmethod
    def string_type(cls, size: int) -> str:
        return f"varchar({size})" if size <= 16383 else "text"

    @property
    def data_type(self) -> str:
        if self.base_type in ("char", "varchar"):
            return f"{self.base_type}({self.string_size()})"
        if self.is_numeric():
            return self.numeric_type(self.base_type, self.numeric_precision, self.numeric_scale)
        return self.dtype

    def can_expand_to(self, other_column: Column) -> bool:
        """Only varchar widens in place (`expand_target_column_types`); text and its kin need nothing."""
        if self.base_type not in ("char", "varchar") or not other_column.is_string():
            return False
        return other_column.string_size() > self.string_size()

    def literal(self, value: Any) -> str:
        return f"cast({value} as {self.data_type})"

    @classmethod
    def from_show_columns(cls, name: str, mysql_type: str) -> MySQLColumn:
        """A column from SHOW COLUMNS' `Type`: sizes apart, `int(11) unsigned` and `int` alike."""
        column = cls.from_description(name, mysql_type)
        lowered = mysql_type.lower()
        if " unsigned" in lowered and column.base_type in _INTEGER_TYPES:
            column.dtype = f"{column.base_type} unsigned"
        elif column.base_type in _INTEGER_TYPES or column.base_type in ("decimal", "numeric"):
            column.dtype = column.base_type
        elif column.base_type in ("char", "varchar"):
            column.dtype = column.base_type
        else:
            column.dtype = lowered
        return column
