{#- A post-hook for incremental tables: add a primary key on `columns` the first time the table exists
    without one (dbt creates tables with CREATE TABLE AS SELECT, which makes no key). With the key, an
    incremental run's delete-by-key reads only the changed rows' index entries. -#}
{% macro ensure_primary_key(relation, columns) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) from information_schema.statistics where table_schema = '" ~ relation.schema
        ~ "' and table_name = '" ~ relation.identifier ~ "' and index_name = 'PRIMARY'"
    ) -%}
    {%- if found.rows[0][0] == 0 -%}
        alter table {{ relation }} add primary key ({{ columns | join(', ') }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
