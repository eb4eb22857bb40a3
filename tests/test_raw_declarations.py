"""Raw columns are declared once, in ingestion/pagerduty/records.py: the raw tables are created from those
declarations, and the dbt sources must describe exactly them (no column missing, none invented)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ingestion.pagerduty.records import RAW_TABLES
from ingestion.raw_store import schema_statements

ROOT = Path(__file__).resolve().parent.parent
BOOKKEEPING = ["version_id", "load_seq"]  # added by the lake to every current table


def source_tables() -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    for path in (ROOT / "models" / "staging").rglob("_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                tables[table["name"]] = [column["name"] for column in table.get("columns", [])]
    return tables


def test_every_current_raw_table_is_described_column_for_column() -> None:
    sources = source_tables()
    for table in RAW_TABLES:
        declared = [c.name for c in table.current_columns] + BOOKKEEPING
        assert sources[table.name] == declared, table.name


def test_versions_tables_describe_only_declared_columns() -> None:
    sources = source_tables()
    for table in RAW_TABLES:
        if table.versions in sources:
            assert set(sources[table.versions]) <= {"version_id", "load_id", *table.column_names}, (
                table.versions
            )


def test_the_tables_are_created_from_the_declarations() -> None:
    ddl = "\n".join(schema_statements())
    for table in RAW_TABLES:
        for column in table.columns:
            assert f"`{column.name}` {column.sql}" in ddl, (table.name, column.name)
