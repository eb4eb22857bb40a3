{#- DORA 2023 level of a month's deployment frequency, by DevLake's rule: a median of 5 or more deployment
    days a week is elite (on demand), 1 or more high (between once a day and once a week), at least one
    deployment day in the month medium (between once a week and once a month), none low. -#}
{% macro deployment_frequency_level(median_days_per_week, days_in_month) -%}
    case
        when {{ median_days_per_week }} >= 5 then 'elite'
        when {{ median_days_per_week }} >= 1 then 'high'
        when {{ days_in_month }} >= 1 then 'medium'
        else 'low'
    end
{%- endmacro %}
