{#- Schemas (MySQL's databases), relations and columns. -#}

{% macro mysql__create_schema(relation) -%}
  {%- call statement('create_schema') -%}
    create schema if not exists {{ relation.without_identifier() }}
  {%- endcall -%}
{%- endmacro %}

{% macro mysql__drop_schema(relation) -%}
  {%- call statement('drop_schema') -%}
    drop schema if exists {{ relation.without_identifier() }}
  {%- endcall -%}
{%- endmacro %}

{% macro mysql__list_schemas(database) -%}
  {%- call statement('list_schemas', fetch_result=True, auto_begin=False) -%}
    select schema_name as schema_name from information_schema.schemata
  {%- endcall -%}
  {{ return(load_result('list_schemas').table) }}
{%- endmacro %}

{#- (schema, name, 'VIEW' or 'BASE TABLE'); information_schema.tables does not list temporary tables -#}
{% macro mysql__list_relations_without_caching(schema_relation) -%}
  {%- call statement('list_relations_without_caching', fetch_result=True) -%}
    select table_schema as table_schema, table_name as table_name, table_type as table_type
    from information_schema.tables
    where table_schema = '{{ schema_relation.schema }}'
  {%- endcall -%}
  {{ return(load_result('list_relations_without_caching').table) }}
{%- endmacro %}

{#- (Field, Type, Null, Key, Default, Extra), in the table's column order; temporary tables included -#}
{% macro mysql__get_columns_in_relation(relation) -%}
  {%- call statement('get_columns_in_relation', fetch_result=True) -%}
    show columns from {{ relation.include(database=False) }}
  {%- endcall -%}
  {{ return(load_result('get_columns_in_relation').table) }}
{%- endmacro %}

{% macro mysql__drop_relation(relation) -%}
  {%- call statement('drop_relation', auto_begin=False) -%}
    drop {{ 'view' if relation.type == 'view' else 'table' }} if exists {{ relation }}
  {%- endcall -%}
{%- endmacro %}

{% macro mysql__truncate_relation(relation) -%}
  {%- call statement('truncate_relation') -%}
    truncate table {{ relation }}
  {%- endcall -%}
{%- endmacro %}

{#- RENAME TABLE moves views too -#}
{% macro mysql__rename_relation(from_relation, to_relation) -%}
  {%- call statement('rename_relation') -%}
    rename table {{ from_relation }} to {{ to_relation }}
  {%- endcall -%}
{%- endmacro %}

{% macro mysql__alter_column_type(relation, column_name, new_column_type) -%}
  {%- call statement('alter_column_type') -%}
    alter table {{ relation }} modify column {{ adapter.quote(column_name) }} {{ new_column_type }}
  {%- endcall -%}
{%- endmacro %}

{% macro mysql__create_columns(relation, columns) -%}
  {%- for column in columns %}
    {%- call statement() -%}
      alter table {{ relation }} add column {{ adapter.quote(column.name) }} {{ column.data_type }}
    {%- endcall -%}
  {%- endfor %}
{%- endmacro %}

{% macro mysql__alter_relation_add_remove_columns(relation, add_columns, remove_columns) -%}
  {%- for column in add_columns or [] %}
    {%- call statement() -%}
      alter table {{ relation }} add column {{ adapter.quote(column.name) }} {{ column.data_type }}
    {%- endcall -%}
  {%- endfor %}
  {%- for column in remove_columns or [] %}
    {%- call statement() -%}
      alter table {{ relation }} drop column {{ adapter.quote(column.name) }}
    {%- endcall -%}
  {%- endfor %}
{%- endmacro %}

{#- A table built from a query. With an enforced contract, the columns are declared first, in the same
    statement (`CREATE TABLE t (defs) SELECT ...`, valid on both servers): the declared types win. MySQL 8
    takes the query in parentheses; MariaDB's form is in dbt/include/mariadb. -#}
{% macro mysql__create_table_as(temporary, relation, sql) -%}
  {{ mysql8_create_table_head(temporary, relation, sql) }} as (
    {{ mysql8_contract_select(sql) }}
  )
{%- endmacro %}

{% macro mysql8_create_table_head(temporary, relation, sql) -%}
  {%- set contract_config = config.get('contract') -%}
  {%- if contract_config.enforced and not temporary -%}
    {{ get_assert_columns_equivalent(sql) }}
  {%- endif %}
  create {% if temporary %}temporary {% endif %}table {{ relation }}
  {%- if contract_config.enforced and not temporary %}
    {{ get_table_columns_and_constraints() }}
  {%- endif %}
{%- endmacro %}

{% macro mysql8_contract_select(sql) -%}
  {%- if config.get('contract').enforced -%}
    {{ get_select_subquery(sql) }}
  {%- else -%}
    {{ sql }}
  {%- endif -%}
{%- endmacro %}

{% macro mysql__create_view_as(relation, sql) -%}
  {%- if config.get('contract').enforced -%}
    {{ get_assert_columns_equivalent(sql) }}
  {%- endif %}
  create or replace view {{ relation }} as
    {{ sql }}
{%- endmacro %}

{#- A contract's columns as a query's result: MySQL's CAST knows few type names (no varchar, int, text), so
    the declared types go into a temporary table, whose empty SELECT reports them as the server stores them. -#}
{% macro mysql__get_empty_schema_sql(columns) -%}
  {%- set probe = api.Relation.create(schema=target.schema, identifier='dbt_contract_probe') -%}
  {%- set definitions = [] -%}
  {%- set names = [] -%}
  {%- for name in columns -%}
    {%- set column = columns[name] -%}
    {%- if column['data_type'] is not defined or not column['data_type'] -%}
      {{ exceptions.column_type_missing(column_names=[column['name']]) }}
    {%- endif -%}
    {%- do definitions.append(adapter.quote(column['name']) ~ ' ' ~ column['data_type']) -%}
    {%- do names.append(adapter.quote(column['name'])) -%}
  {%- endfor -%}
  {%- do run_query('drop temporary table if exists ' ~ probe) -%}
  {%- do run_query('create temporary table ' ~ probe ~ ' (' ~ definitions | join(', ') ~ ')') -%}
  select {{ names | join(', ') }} from {{ probe }}
{%- endmacro %}

{% macro mysql__current_timestamp() -%}
  current_timestamp(6)
{%- endmacro %}

{#- CAST in MySQL and MariaDB takes char, signed, unsigned, decimal, double, date, datetime, time (and json on
    MySQL): a type as a table declares it becomes the nearest of these. -#}
{% macro mysql8_cast_type(type) -%}
  {%- set lowered = type | trim | lower -%}
  {%- set base = lowered.split('(')[0] | trim -%}
  {%- set size = lowered[lowered.find('('):] if '(' in lowered else '' -%}
  {%- if base in ('varchar', 'char', 'character varying', 'character', 'string', 'nvarchar') -%}char{{ size }}
  {%- elif base in ('text', 'tinytext', 'mediumtext', 'longtext', 'json', 'enum', 'set') -%}char
  {%- elif base.endswith(' unsigned') or lowered.endswith(' unsigned') -%}unsigned
  {%- elif base in ('tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'boolean', 'bool', 'signed') -%}signed
  {%- elif base in ('float', 'double', 'real', 'double precision') -%}double
  {%- elif base in ('decimal', 'numeric') -%}decimal{{ size }}
  {%- elif base == 'timestamp' -%}datetime{{ size }}
  {%- else -%}{{ lowered }}
  {%- endif -%}
{%- endmacro %}

{% macro mysql__cast(field, type) -%}
  cast({{ field }} as {{ mysql8_cast_type(type) }})
{%- endmacro %}

{% macro mysql__safe_cast(field, type) -%}
  cast({{ field }} as {{ mysql8_cast_type(type) }})
{%- endmacro %}

{% macro mysql__type_string() -%}char{%- endmacro %}
{% macro mysql__type_int() -%}signed{%- endmacro %}
{% macro mysql__type_bigint() -%}signed{%- endmacro %}
{% macro mysql__type_float() -%}double{%- endmacro %}
{% macro mysql__type_timestamp() -%}datetime(6){%- endmacro %}

{#- No database above the schema: nodes carry none (not ''), as the catalog's rows do, so that they match. -#}
{% macro mysql__generate_database_name(custom_database_name=none, node=none) -%}
  {{ return(none) }}
{%- endmacro %}
