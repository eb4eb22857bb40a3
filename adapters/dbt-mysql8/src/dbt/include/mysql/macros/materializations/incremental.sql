{#- delete+insert: a multi-table DELETE joining the new rows to the target on the key. dbt's default,
    `where key in (select key from tmp)`, MariaDB 10.11 runs as a subquery per target row, and MySQL cannot
    reopen a temporary table in one statement. The target is named in full, not aliased: MariaDB resolves a
    DELETE alias in the default database. -#}
{% macro mysql__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
  {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute='name')) -%}
  {%- if unique_key -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- call statement('delete_changed') -%}
      delete {{ target }}
      from {{ target }}
      inner join {{ source }} as dbt_internal_source
        on {% for key in keys %}{{ target }}.{{ key }} = dbt_internal_source.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
      {%- if incremental_predicates %}
      where {% for predicate in incremental_predicates %}{{ predicate }}{{ ' and ' if not loop.last }}{% endfor %}
      {%- endif %}
    {%- endcall -%}
  {%- endif %}
  insert into {{ target }} ({{ dest_cols_csv }})
  select {{ dest_cols_csv }}
  from {{ source }}
{%- endmacro %}

{#- The default strategy: delete+insert when the model has a unique key, else append. -#}
{% macro mysql__get_incremental_default_sql(arg_dict) -%}
  {%- if arg_dict['unique_key'] -%}
    {{ return(get_incremental_delete_insert_sql(arg_dict)) }}
  {%- else -%}
    {{ return(get_incremental_append_sql(arg_dict)) }}
  {%- endif -%}
{%- endmacro %}
