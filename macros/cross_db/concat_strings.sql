{#- Concatenate SQL expressions as text. dbt.concat compiles to `a || b` (dbt's default), which MySQL reads
    as a logical OR and silently returns 0 (stack-notes), hence our own. -#}
{% macro concat_strings(parts) -%}
    {{ return(adapter.dispatch('concat_strings', 'pagerduty_dora')(parts)) }}
{%- endmacro %}

{% macro default__concat_strings(parts) -%}
    concat({{ parts | join(', ') }})
{%- endmacro %}
