{#- Whole seconds from `start` to `end`, truncated toward zero. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'pagerduty_dora')(start, end)) }}
{%- endmacro %}

{% macro default__seconds_between(start, end) -%}
    timestampdiff(second, {{ start }}, {{ end }})
{%- endmacro %}
