{#- Time to acknowledge per calendar month (UTC) of creation: the lower median of seconds_to_first_ack (the
    MTTR views' median, macros/dora/lower_median.sql) and its 90th percentile (nearest rank), over the
    counted incidents acknowledged at least once. Nothing rounded. -#}
with counted as (

    select created_month, seconds_to_first_ack
    from {{ ref('response_incidents') }} as response_incidents
    where {{ dora_incident_filter('urgency', 'priority_name', 'is_merged') }}

),

acknowledged as (

    select created_month, seconds_to_first_ack from counted where seconds_to_first_ack is not null

),

totals as (

    select created_month, count(*) as incidents from counted group by created_month

),

medians as (

    {{ lower_median('acknowledged', 'seconds_to_first_ack', ['created_month']) }}

),

p90 as (

    {{ nearest_rank('acknowledged', 'seconds_to_first_ack', ['created_month'], 0.9) }}

)

select
    totals.created_month as month,
    totals.incidents,
    coalesce(medians.n, 0) as acknowledged_incidents,
    medians.median as mtta_seconds,
    medians.median / 6e1 as mtta_minutes,
    p90.percentile as mtta_p90_seconds

from totals
left join medians on medians.created_month = totals.created_month
left join p90 on p90.created_month = totals.created_month
