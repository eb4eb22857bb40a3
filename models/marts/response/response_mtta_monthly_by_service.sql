{#- response_mtta_monthly per PagerDuty service (its board, as the DORA views). -#}
with counted as (

    select created_month, board_id, service_id, service_name, seconds_to_first_ack
    from {{ ref('response_incidents') }} as response_incidents
    where {{ dora_incident_filter('urgency', 'priority_name', 'is_merged') }}

),

acknowledged as (

    select created_month, board_id, seconds_to_first_ack from counted where seconds_to_first_ack is not null

),

totals as (

    select created_month, board_id, max(service_id) as service_id, max(service_name) as service_name,
        count(*) as incidents
    from counted
    group by created_month, board_id

),

medians as (

    {{ lower_median('acknowledged', 'seconds_to_first_ack', ['created_month', 'board_id']) }}

),

p90 as (

    {{ nearest_rank('acknowledged', 'seconds_to_first_ack', ['created_month', 'board_id'], 0.9) }}

)

select
    totals.created_month as month,
    totals.service_id,
    totals.service_name,
    totals.board_id,
    totals.incidents,
    coalesce(medians.n, 0) as acknowledged_incidents,
    medians.median as mtta_seconds,
    medians.median / 6e1 as mtta_minutes,
    p90.percentile as mtta_p90_seconds

from totals
left join medians on medians.created_month = totals.created_month and medians.board_id = totals.board_id
left join p90 on p90.created_month = totals.created_month and p90.board_id = totals.board_id
