{#- A value from a dbt var as a SQL string literal, escaped: vars are user input and never pasted into SQL as
    they are. Booleans and numbers become their JSON text ('true', '1.5'), as JSON_UNQUOTE renders them. -#}
{% macro sql_string(value) -%}
    {{ return(adapter.dispatch('sql_string', 'pagerduty_dora')(value)) }}
{%- endmacro %}

{% macro default__sql_string(value) -%}
    {%- if value is sameas true or value is sameas false or value is none or value is number -%}
        {%- set text = tojson(value) -%}
    {%- else -%}
        {%- set text = value | string -%}
    {%- endif -%}
    '{{ text | replace("\\", "\\\\") | replace("'", "''") }}'
{%- endmacro %}
