{#- The text at a JSON path of a JSON column (null when absent); the path is quoted and escaped. -#}
{% macro json_text(expression, path) -%}
    {{ return(adapter.dispatch('json_text', 'pagerduty_dora')(expression, path)) }}
{%- endmacro %}

{% macro default__json_text(expression, path) -%}
    json_unquote(json_extract({{ expression }}, {{ sql_string(path) }}))
{%- endmacro %}
