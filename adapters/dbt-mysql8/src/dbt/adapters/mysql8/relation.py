"""Relations: `schema`.`identifier` (MySQL's database is dbt's schema; there is no level above it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from dbt.adapters.base.relation import BaseRelation, Policy


@dataclass
class MySQLQuotePolicy(Policy):
    database: bool = False
    schema: bool = True
    identifier: bool = True


@dataclass
class MySQLIncludePolicy(Policy):
    database: bool = False
    schema: bool = True
    identifier: bool = True


@dataclass(frozen=True, eq=False, repr=False)
class MySQLRelation(BaseRelation):
    quote_policy: MySQLQuotePolicy = field(default_factory=lambda: MySQLQuotePolicy())
    include_policy: MySQLIncludePolicy = field(default_factory=lambda: MySQLIncludePolicy())
    quote_character: str = "`"

    @classmethod
    def create(cls, database=None, schema=None, identifier=None, type=None, **kwargs):  # noqa: ANN001, ANN206
        """A database given is dropped: there is none above the schema. (A snapshot's materialization passes
        `model.database`, which is jinja's Undefined when the node has none.)"""
        return super().create(database=None, schema=schema, identifier=identifier, type=type, **kwargs)

    def without_limit_alias(self) -> MySQLRelation:
        """This relation, rendered under `--empty` (or a sample limit) as `(select ... limit 0)` with no alias
        of dbt's: for projects that alias every ref and source themselves (MySQL needs a derived table to
        have one alias, and refuses two). dbt's default, `_dbt_limit_subq_<name>`, suits unaliased refs."""
        return dataclasses.replace(self, require_alias=False)
