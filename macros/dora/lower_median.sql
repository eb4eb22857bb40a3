{#- DevLake's median: the lower median, the value at 0-based index floor((n-1)/2) of the sorted values of
    each group. MySQL 8 has no MEDIAN/PERCENTILE_CONT and MariaDB has them only as window functions, so it is
    ranked by hand. Expands to a SELECT over `relation` returning the group columns, `n` and `median`. -#}
{% macro lower_median(relation, value, group_by) -%}
    select
        {{ group_by | join(', ') }},
        max(n) as n,
        max(case when rn = floor((n - 1) / 2) + 1 then {{ value }} end) as median
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
