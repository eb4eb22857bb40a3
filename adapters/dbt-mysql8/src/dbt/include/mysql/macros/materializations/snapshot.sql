{#- Snapshots. MySQL and MariaDB have no MERGE: the rows a change closes are updated first (a join on
    dbt_scd_id), then the new versions inserted. The UPDATE runs here; the INSERT is the statement the
    materialization runs as its main one. -#}
{% macro mysql__snapshot_merge_sql(target, source, insert_cols) -%}
  {%- set insert_cols_csv = insert_cols | join(', ') -%}
  {%- set columns = config.get('snapshot_table_column_names') or get_snapshot_table_column_names() -%}
  {%- call statement('snapshot_close_changed') -%}
    update {{ target }} as dbt_internal_dest
    inner join {{ source }} as dbt_internal_source
      on dbt_internal_source.{{ columns.dbt_scd_id }} = dbt_internal_dest.{{ columns.dbt_scd_id }}
    set dbt_internal_dest.{{ columns.dbt_valid_to }} = dbt_internal_source.{{ columns.dbt_valid_to }}
    where
    {%- if config.get('dbt_valid_to_current') %}
      (dbt_internal_dest.{{ columns.dbt_valid_to }} = {{ config.get('dbt_valid_to_current') }}
       or dbt_internal_dest.{{ columns.dbt_valid_to }} is null)
    {%- else %}
      dbt_internal_dest.{{ columns.dbt_valid_to }} is null
    {%- endif %}
      and dbt_internal_source.dbt_change_type in ('update', 'delete')
  {%- endcall -%}
  insert into {{ target }} ({{ insert_cols_csv }})
  select {{ insert_cols_csv }}
  from {{ source }} as dbt_internal_source
  where dbt_internal_source.dbt_change_type = 'insert'
{%- endmacro %}

{% macro mysql__snapshot_hash_arguments(args) -%}
  md5(concat_ws('|', {%- for arg in args -%}
    coalesce(cast({{ arg }} as char), ''){{ ', ' if not loop.last }}
  {%- endfor -%}))
{%- endmacro %}

{% macro mysql__snapshot_string_as_time(timestamp) -%}
  cast('{{ timestamp }}' as datetime(6))
{%- endmacro %}

{% macro mysql__snapshot_get_time() -%}
  current_timestamp(6)
{%- endmacro %}
