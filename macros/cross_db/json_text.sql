{#- The text at a JSON path of a JSON column (null when absent). -#}
{% macro json_text(expression, path) -%}
    {{ return(adapter.dispatch('json_text', 'pagerduty_dora')(expression, path)) }}
{%- endmacro %}

{% macro default__json_text(expression, path) -%}
    json_unquote(json_extract({{ expression }}, '{{ path }}'))
{%- endmacro %}
