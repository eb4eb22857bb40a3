{#- DORA level of a change failure rate (0 to 1), by the report in var `dora_report` (2023 by default:
    elite <= 5%, high <= 10%, medium <= 15%; 2021: elite <= 15%, high <= 20%, medium <= 30%; low above;
    seeds/dora_benchmarks.csv). -#}
{% macro change_failure_rate_level(rate) -%}
    {%- set report = var('dora_report', 2023) | string -%}
    {%- set bounds = {'2021': (0.15, 0.20, 0.30), '2023': (0.05, 0.10, 0.15)} -%}
    {%- if report not in bounds -%}
        {{ exceptions.raise_compiler_error("var dora_report must be 2021 or 2023, not " ~ report) }}
    {%- endif -%}
    {%- set elite, high, medium = bounds[report] -%}
    case
        when {{ rate }} is null then null
        when {{ rate }} <= {{ elite }} then 'elite'
        when {{ rate }} <= {{ high }} then 'high'
        when {{ rate }} <= {{ medium }} then 'medium'
        else 'low'
    end
{%- endmacro %}
