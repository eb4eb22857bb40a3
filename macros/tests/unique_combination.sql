{#- A generic test: no two rows share the values of `columns` (DevLake's composite keys, e.g. project_mapping's
    project, table and row). dbt 1.7 has no such test built in, and the project takes no packages. -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as n
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
