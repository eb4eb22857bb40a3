{#- The value at a 1-based `rank` of the sorted values of each group, where `rank` is an expression in `n`, the
    group's size. MySQL 8 has no MEDIAN/PERCENTILE_CONT and MariaDB has them only as window functions, so the
    medians and percentiles are ranked by hand, all in this one place. Expands to a SELECT over `relation`
    returning the group columns, `n` and `as_column`. -#}
{% macro value_at_rank(relation, value, group_by, rank, as_column) -%}
    select
        {{ group_by | join(', ') }},
        max(n) as n,
        max(case when rn = {{ rank }} then {{ value }} end) as {{ as_column }}
    from (
        select
            {{ group_by | join(', ') }},
            {{ value }},
            row_number() over (partition by {{ group_by | join(', ') }} order by {{ value }}) as rn,
            count(*) over (partition by {{ group_by | join(', ') }}) as n
        from {{ relation }}
    ) as ranked
    group by {{ group_by | join(', ') }}
{%- endmacro %}

{#- DevLake's median: the lower median, the value at 0-based index floor((n-1)/2) of the sorted values of
    each group. Expands to a SELECT over `relation` returning the group columns, `n` and `median`. -#}
{% macro lower_median(relation, value, group_by) -%}
    {{ value_at_rank(relation, value, group_by, 'floor((n - 1) / 2) + 1', 'median') }}
{%- endmacro %}
