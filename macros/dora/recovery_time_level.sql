{#- DORA performance level of a time to restore service (2021) or failed deployment recovery time (2023),
    in minutes: elite < 1 hour, high < 1 day, medium < 1 week, low otherwise (seeds/dora_benchmarks.csv). -#}
{% macro recovery_time_level(minutes) -%}
    case
        when {{ minutes }} is null then null
        when {{ minutes }} < 60 then 'elite'
        when {{ minutes }} < 1440 then 'high'
        when {{ minutes }} < 10080 then 'medium'
        else 'low'
    end
{%- endmacro %}
