{#- The catalog of `dbt docs generate`: one row per column of every table and view of the schemas asked.
    MySQL has no level above the schema: table_database is null (the adapter matches on the schema alone). -#}
{% macro mysql__get_catalog(information_schema, schemas) -%}
  {%- call statement('catalog', fetch_result=True) -%}
    select
        null as table_database,
        tables.table_schema as table_schema,
        tables.table_name as table_name,
        case when tables.table_type = 'VIEW' then 'view' else 'table' end as table_type,
        nullif(nullif(tables.table_comment, ''), 'VIEW') as table_comment,
        null as table_owner,
        columns.column_name as column_name,
        columns.ordinal_position as column_index,
        columns.column_type as column_type,
        nullif(columns.column_comment, '') as column_comment
    from information_schema.tables as tables
    inner join information_schema.columns as columns
        on columns.table_schema = tables.table_schema
        and columns.table_name = tables.table_name
    where tables.table_schema in (
        {%- for schema in schemas -%}
        '{{ schema }}'{{ ', ' if not loop.last }}
        {%- endfor -%}
    )
    order by tables.table_schema, tables.table_name, columns.ordinal_position
  {%- endcall -%}
  {{ return(load_result('catalog').table) }}
{%- endmacro %}
