{#- The database holding the raw tables ingestion writes: var pagerduty_raw_schema, else the target's + _raw. -#}
{% macro raw_schema() -%}
    {{ return(var('pagerduty_raw_schema', none) or (target.schema ~ '_raw')) }}
{%- endmacro %}
