{#- Overrides dbt-mysql's `incremental_delete` (its incremental materialization calls it by name, and the
    root project's macro wins). dbt-mysql deletes with `where key in (select key from tmp)`, which
    MariaDB 10.11 runs as a subquery per row of the target: a rerun over 100,000 issues did not finish in
    14 minutes. A multi-table DELETE joins the small temporary table to the target's primary key instead,
    and runs on MySQL 8 and MariaDB alike. -#}
{% macro incremental_delete(tmp_relation, target_relation, unique_key=none, statement_name="pre_main") %}
    {%- if unique_key is not none and unique_key | length -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {#- the target is named in full, not aliased: MariaDB resolves a DELETE alias in the default database #}
    delete {{ target_relation }}
    from {{ target_relation }}
    inner join {{ tmp_relation }} as changed
        on {% for key in keys %}{{ target_relation }}.{{ key }} = changed.{{ key }}{{ " and " if not loop.last }}{% endfor %}
    {%- endif %}
{%- endmacro %}
