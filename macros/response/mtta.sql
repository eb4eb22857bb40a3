{#- What response_mtta_monthly and its by-service and by-team variants share. Each view defines `counted` (its
    counted incidents with created_month, its `keys` and seconds_to_first_ack) and `totals` (one row per month
    and key); mtta_ranks adds the acknowledged ones' lower median (the MTTR views' median) and nearest-rank
    90th percentile, mtta_columns and mtta_joins read them beside `totals`. Nothing rounded. -#}
{% macro mtta_ranks(keys) -%}
{%- set group_by = ['created_month'] + keys -%}
acknowledged as (

    select {{ group_by | join(', ') }}, seconds_to_first_ack from counted where seconds_to_first_ack is not null

),

medians as (

    {{ lower_median('acknowledged', 'seconds_to_first_ack', group_by) }}

),

p90 as (

    {{ nearest_rank('acknowledged', 'seconds_to_first_ack', group_by, 0.9) }}

)
{%- endmacro %}

{% macro mtta_columns() -%}
    coalesce(medians.n, 0) as acknowledged_incidents,
    medians.median as mtta_seconds,
    medians.median / 6e1 as mtta_minutes,
    p90.percentile as mtta_p90_seconds
{%- endmacro %}

{% macro mtta_joins(keys) -%}
{%- for ranks in ['medians', 'p90'] %}
left join {{ ranks }} on {{ ranks }}.created_month = totals.created_month
    {%- for key in keys %} and {{ ranks }}.{{ key }} = totals.{{ key }}{% endfor %}
{%- endfor %}
{%- endmacro %}
