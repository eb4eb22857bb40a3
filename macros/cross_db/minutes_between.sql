{#- Whole minutes from `start` to `end`, truncated toward zero (59 seconds is 0 minutes), as DevLake's
    lead_time_minutes. -#}
{% macro minutes_between(start, end) -%}
    {{ return(adapter.dispatch('minutes_between', 'pagerduty_dora')(start, end)) }}
{%- endmacro %}

{% macro default__minutes_between(start, end) -%}
    timestampdiff(minute, {{ start }}, {{ end }})
{%- endmacro %}
