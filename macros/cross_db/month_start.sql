{#- The first day of the calendar month of a DATETIME, as a DATE. Our timestamps are naive UTC, so this
    is the UTC month. -#}
{% macro month_start(expression) -%}
    {{ return(adapter.dispatch('month_start', 'pagerduty_dora')(expression)) }}
{%- endmacro %}

{% macro default__month_start(expression) -%}
    cast(date_format({{ expression }}, '%Y-%m-01') as date)
{%- endmacro %}
