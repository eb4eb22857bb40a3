{#- The text after the last `delimiter` (the service id at the end of a board id). -#}
{% macro last_part(expression, delimiter) -%}
    {{ return(adapter.dispatch('last_part', 'pagerduty_dora')(expression, delimiter)) }}
{%- endmacro %}

{% macro default__last_part(expression, delimiter) -%}
    substring_index({{ expression }}, '{{ delimiter }}', -1)
{%- endmacro %}
