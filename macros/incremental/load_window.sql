{#- Incremental models pick the raw rows of loads completed since their last build, by the loads' sequence
    numbers (completion order, given by the database), never by clocks.

    - on-run-start, `begin_load_window()` notes the newest completed load (`_pagerduty_build.upto`): every
      model of this dbt run reads up to that load and no further, whatever completes meanwhile;
    - a model's SQL filters its raw rows with `in_load_window('x.load_seq')`: after the load it last built
      from (its watermark), up to `upto`;
    - its post-hook `save_load_window()` moves its watermark to `upto`, in the same transaction as its rows;
    - its pre-hook `reset_load_window()` empties it when it must be rebuilt: its fingerprint (the scopes the
      blueprints cover, and the vars that shape it) differs from the one it was built with. -#}

{% macro watermarks_table() -%}{{ target.schema }}._pagerduty_watermarks{%- endmacro %}
{% macro build_table() -%}{{ target.schema }}._pagerduty_build{%- endmacro %}

{% macro begin_load_window() -%}
    {% do run_query(
        "create table if not exists " ~ watermarks_table() ~ " (model varchar(255) not null primary key,"
        ~ " load_seq bigint unsigned not null, fingerprint char(32) not null, built_at datetime(6) not null)"
    ) %}
    {% do run_query(
        "create table if not exists " ~ build_table() ~ " (id tinyint not null primary key,"
        ~ " upto bigint unsigned not null, started_at datetime(6) not null)"
    ) %}
    {% do run_query(
        "create table if not exists " ~ linked_deployments_table() ~ " (board_id varchar(255) not null,"
        ~ " deployment_id varchar(255) not null, finished_at datetime(6) not null,"
        ~ " primary key (board_id, deployment_id))"
    ) %}
    replace into {{ build_table() }} (id, upto, started_at)
    select 1, coalesce(max(seq), 0), utc_timestamp(6) from {{ raw_schema() }}._loads where status = 'completed'
{%- endmacro %}

{% macro load_window_fingerprint(fingerprint_vars=[]) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set scopes = run_query(
        "select blueprint, project, connection_id, service_id, cast(start_date as char) from "
        ~ raw_schema() ~ "._scopes order by 1, 3, 4, 5"
    ) -%}
    {%- set parts = [] -%}
    {%- for row in scopes.rows -%}{%- do parts.append(row | join('|')) -%}{%- endfor -%}
    {%- for name in fingerprint_vars -%}{%- do parts.append(name ~ '=' ~ tojson(var(name, none))) -%}{%- endfor -%}
    {{ return(local_md5(parts | join(';'))) }}
{%- endmacro %}

{% macro load_window_rebuilds(fingerprint_vars=[]) -%}
    {%- if not execute or not is_incremental() -%}{{ return(true) }}{%- endif -%}
    {%- set stored = run_query(
        "select fingerprint from " ~ watermarks_table() ~ " where model = '" ~ this.name ~ "'"
    ) -%}
    {{ return(stored.rows | length == 0 or stored.rows[0][0] != load_window_fingerprint(fingerprint_vars)) }}
{%- endmacro %}

{#- The window's bounds are read when the model compiles and written into its SQL as numbers: MariaDB does
    not evaluate a subquery while it plans, so `load_seq > (select ...)` read every raw row instead of the
    new ones through the index. Both bounds are fixed for the model's build (the watermark moves only in its
    post-hook, `upto` only at the start of the dbt run). -#}
{% macro load_window_number(sql) -%}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {%- set found = run_query(sql) -%}
    {{ return((found.rows[0][0] if found.rows | length else none) or 0) }}
{%- endmacro %}

{% macro in_load_window(load_seq, fingerprint_vars=[]) -%}
    {%- set upto = load_window_number("select upto from " ~ build_table() ~ " where id = 1") -%}
    {%- if load_window_rebuilds(fingerprint_vars) -%}
        {{ load_seq }} <= {{ upto }}
    {%- else -%}
        {%- set since = load_window_number(
            "select load_seq from " ~ watermarks_table() ~ " where model = '" ~ this.name ~ "'"
        ) -%}
        {{ load_seq }} > {{ since }} and {{ load_seq }} <= {{ upto }}
    {%- endif -%}
{%- endmacro %}

{% macro reset_load_window(fingerprint_vars=[]) -%}
    {%- if is_incremental() and load_window_rebuilds(fingerprint_vars) -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro save_load_window(fingerprint_vars=[]) -%}
    replace into {{ watermarks_table() }} (model, load_seq, fingerprint, built_at)
    select '{{ this.name }}', upto, '{{ load_window_fingerprint(fingerprint_vars) }}', utc_timestamp(6)
    from {{ build_table() }} where id = 1
{%- endmacro %}

{% macro delete_changed_rows(key_column, changed_keys_sql, fingerprint_vars=[]) -%}
    {#- pre-hook: the rows of every object changed in the load window go, whether or not the new version is
        still in scope (an incident moved to an unscoped service leaves); the model inserts the new rows. -#}
    {%- if is_incremental() and not load_window_rebuilds(fingerprint_vars) -%}
        delete {{ this }} from {{ this }}
        inner join ({{ changed_keys_sql }}) as changed on {{ this }}.{{ key_column }} = changed.{{ key_column }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
