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
    sorted values (the 90th percentile of 10 values is the 9th), ranked by value_at_rank
    (macros/dora/lower_median.sql). Expands to a SELECT over `relation` returning the group columns, `n` and
    `percentile`. -#}
{% macro nearest_rank(relation, value, group_by, fraction) -%}
    {{ value_at_rank(relation, value, group_by, 'greatest(ceiling(' ~ fraction ~ ' * n), 1)', 'percentile') }}
{%- endmacro %}
