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

{#- CREATE TABLE AS SELECT, each server's own form (MySQL parenthesizes the query, MariaDB does not accept a
    parenthesized WITH), with the model's declared keys (not on temporary tables: an incremental run's few new
    rows need none). With an enforced contract (DevLake's tables), its columns are declared in the same
    statement, as the adapter does (adapters/dbt-mysql8): the declared types are the table's, and a query
    whose columns differ in name or type fails before anything is built. -#}
{% macro keyed_create_table(temporary, relation, sql) -%}
    {%- set keys = config.get('table_keys') or [] -%}
    {%- set contract = config.get('contract').enforced and not temporary -%}
    {%- set definitions = [] -%}
    {%- if contract -%}
        {{ get_assert_columns_equivalent(sql) }}
        {%- do definitions.extend(adapter.render_raw_columns_constraints(raw_columns=model['columns'])) -%}
    {%- endif -%}
    {%- if keys and not temporary -%}{%- do definitions.append(table_keys_definition(keys)) -%}{%- endif %}
    create {% if temporary -%}temporary {% endif -%} table {{ relation.include(database=False) }}
    {%- if definitions %} ({{ definitions | join(', ') }}){%- endif %}
{%- endmacro %}

{% macro keyed_select(temporary, sql) -%}
    {%- if config.get('contract').enforced and not temporary -%}{{ get_select_subquery(sql) }}{%- else -%}{{ sql }}{%- endif -%}
{%- endmacro %}

{% macro mysql__create_table_as(temporary, relation, sql) -%}
    {{ keyed_create_table(temporary, relation, sql) }} as (
        {{ keyed_select(temporary, sql) }}
    )
{%- endmacro %}

{% macro mariadb__create_table_as(temporary, relation, sql) -%}
    {{ keyed_create_table(temporary, relation, sql) }}
    {{ keyed_select(temporary, sql) }}
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
