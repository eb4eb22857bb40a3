{#- A table model's keys, declared once in its config as `table_keys`: a list of [name, columns], the name
    'PRIMARY' for the primary key. They are created with the table, in its CREATE TABLE ... AS SELECT (valid on
    MySQL 8 and MariaDB): adding them afterwards copies the table once for the primary key and reads it once
    per index, which on a first build of a million incidents cost more than building the tables themselves
    (BENCHMARKS.md). The post-hook `ensure_table_keys()` adds any a table built before lacks. -#}
{% macro table_keys_definition(keys) -%}
    {%- for name, columns in keys -%}
        {%- if name == 'PRIMARY' -%}primary key{%- else -%}key {{ name }}{%- endif %} ({{ columns | join(', ') }})
        {%- if not loop.last %}, {% endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- dbt-mysql's CREATE TABLE AS SELECT, each adapter's own form (MySQL parenthesizes the query, MariaDB does
    not accept a parenthesized WITH), with the model's declared keys (not on temporary tables: an incremental
    run's few new rows need none). -#}
{% macro keyed_create_table(temporary, relation) -%}
    {%- set keys = config.get('table_keys') or [] -%}
    create {% if temporary -%}temporary {% endif -%} table {{ relation.include(database=False) }}
    {%- if keys and not temporary %} ({{ table_keys_definition(keys) }}){%- endif %}
{%- endmacro %}

{% macro mysql__create_table_as(temporary, relation, sql) -%}
    {{ keyed_create_table(temporary, relation) }} as (
        {{ sql }}
    )
{%- endmacro %}

{% macro mariadb__create_table_as(temporary, relation, sql) -%}
    {{ keyed_create_table(temporary, relation) }}
    {{ sql }}
{%- endmacro %}

{#- post-hook: the declared keys a table lacks (one built before they were declared), added one by one. -#}
{% macro ensure_table_keys(relation) -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- for name, columns in config.get('table_keys') or [] -%}
        {%- set statement = ensure_primary_key(relation, columns) if name == 'PRIMARY'
            else ensure_index(relation, name, columns) -%}
        {%- if statement | trim != 'select 1' -%}{% do run_query(statement) %}{%- endif -%}
    {%- endfor -%}
    select 1
{%- endmacro %}
