{#- Time to acknowledge per calendar month (UTC) of creation: the lower median of seconds_to_first_ack (the
    MTTR views' median, macros/dora/lower_median.sql) and its 90th percentile (nearest rank), over the
    counted incidents acknowledged at least once (macros/response/mtta.sql). Nothing rounded. -#}
with counted as (

    select created_month, seconds_to_first_ack
    from {{ ref('response_incidents') }} as response_incidents
    where {{ dora_incident_filter('urgency', 'priority_name', 'is_merged') }}

),

totals as (

    select created_month, count(*) as incidents from counted group by created_month

),

{{ mtta_ranks([]) }}

select
    totals.created_month as month,
    totals.incidents,
    {{ mtta_columns() }}

from totals
{{- mtta_joins([]) }}
