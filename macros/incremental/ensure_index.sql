{#- A post-hook: add an index the first time a table exists without it (CREATE TABLE AS SELECT makes none).
    MySQL 8 has no CREATE INDEX IF NOT EXISTS, hence the look-up. -#}
{% macro ensure_index(relation, name, columns) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) from information_schema.statistics where table_schema = '" ~ relation.schema
        ~ "' and table_name = '" ~ relation.identifier ~ "' and index_name = '" ~ name ~ "'"
    ) -%}
    {%- if found.rows[0][0] == 0 -%}
        create index {{ name }} on {{ relation }} ({{ columns | join(', ') }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
