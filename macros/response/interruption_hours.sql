{#- Which hours a notification at local time `local_at` interrupted (PagerDuty Analytics' definitions, in the
    notified user's own zone): sleep 22:00-08:00 every day; off 18:00-22:00 Monday to Friday and all day
    Saturday and Sunday; business 08:00-18:00 Monday to Friday. Where PagerDuty's off and sleep hours
    overlap (weekend nights) the page counts as sleep only, so the three add up to the interruptions.
    weekday() is 0 for Monday on MySQL and MariaDB alike. -#}
{% macro interruption_hours(local_at) -%}
    case
        when hour({{ local_at }}) >= 22 or hour({{ local_at }}) < 8 then 'sleep'
        when weekday({{ local_at }}) >= 5 or hour({{ local_at }}) >= 18 then 'off'
        else 'business'
    end
{%- endmacro %}

{#- The nearest-rank percentile of `value` per group: the value at 1-based rank ceil(fraction * n) of the
    sorted values (the 90th percentile of 10 values is the 9th). Ranked by hand like lower_median, for MySQL 8
    has no PERCENTILE_CONT. Expands to a SELECT over `relation` returning the group columns and `percentile`. -#}
{% macro nearest_rank(relation, value, group_by, fraction) -%}
    select
        {{ group_by | join(', ') }},
        max(case when rn = greatest(ceiling({{ fraction }} * n), 1) then {{ value }} end) as percentile
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
