{#- One row per element of a JSON array column, as a table expression to join laterally:
    `from t cross join {{ json_array_rows('t.col', [('name', 'varchar(64)', '$.path')], 'alias') }}`.
    Adds `ordinal`, the element's 1-based position. JSON_TABLE has the same syntax on MySQL 8 and
    MariaDB 10.6+. -#}
{% macro json_array_rows(json_expression, columns, alias) -%}
    {{ return(adapter.dispatch('json_array_rows', 'pagerduty_dora')(json_expression, columns, alias)) }}
{%- endmacro %}

{% macro default__json_array_rows(json_expression, columns, alias) -%}
    json_table(
        {{ json_expression }}, '$[*]' columns (
            ordinal for ordinality
            {%- for name, type, path in columns %},
            {{ name }} {{ type }} path '{{ path }}'
            {%- endfor %}
        )
    ) as {{ alias }}
{%- endmacro %}
