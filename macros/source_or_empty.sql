{#- A source table that may not exist yet: dlt creates a raw table only once it has rows (an account
    without change events has none), and user-supplied deployments are optional. Returns the source
    relation, or an empty derived table with the given columns ({name: SQL type}). -#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set src = source(source_name, table_name) -%}
    {%- set relation = adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier)
        if execute else none -%}
    {%- if relation is not none -%}
        {{ src }}
    {%- else -%}
        (select
            {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ adapter.quote(name) }}{{ "," if not loop.last }}
            {%- endfor %}
         from (select 1 as one) as nothing
         where 1 = 0)
    {%- endif -%}
{%- endmacro %}
