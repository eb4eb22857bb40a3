{#- A pre-hook of an incremental model that gained a column derived from its others: a table built before
    gets the column, and every build fills it where it is null and `expression` is not. dbt's incremental inserts
    only the columns the table already has, so without it a lake built by an older release would keep
    working with the column missing, or, if a run were killed between adding and filling it, with nulls
    that a later run would not fill. The fill reads the column's nulls (through its index once it has one):
    after the first build, only the rows for which `expression` is null. -#}
{% macro ensure_column(relation, column, data_type, expression) -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set found = run_query(
        "select count(*), sum(column_name = '" ~ column ~ "') from information_schema.columns"
        ~ " where table_schema = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'"
    ) -%}
    {%- set table_columns, has_column = found.rows[0][0], found.rows[0][1] -%}
    {%- if table_columns == 0 -%}{{ return('select 1') }}{%- endif -%}
    {%- if not has_column -%}
        {% do run_query("alter table " ~ relation ~ " add column " ~ column ~ " " ~ data_type) %}
    {%- endif -%}
    update {{ relation }} set {{ column }} = {{ expression }}
    where {{ column }} is null and {{ expression }} is not null
{%- endmacro %}
