{#- PagerDuty's ISO-8601 UTC text ('2022-06-01T15:04:05Z') as a naive UTC DATETIME, the way dlt stores
    timestamps. -#}
{% macro iso_utc_to_datetime(expression) -%}
    {{ return(adapter.dispatch('iso_utc_to_datetime', 'pagerduty_dora')(expression)) }}
{%- endmacro %}

{% macro default__iso_utc_to_datetime(expression) -%}
    cast(replace(replace({{ expression }}, 'T', ' '), 'Z', '') as datetime)
{%- endmacro %}
