{#- response_mtta_monthly per PagerDuty service (its board, as the DORA views). -#}
with counted as (

    select created_month, board_id, service_id, service_name, seconds_to_first_ack
    from {{ ref('response_incidents') }} as response_incidents
    where {{ dora_incident_filter('urgency', 'priority_name', 'is_merged') }}

),

totals as (

    select created_month, board_id, max(service_id) as service_id, max(service_name) as service_name,
        count(*) as incidents
    from counted
    group by created_month, board_id

),

{{ mtta_ranks(['board_id']) }}

select
    totals.created_month as month,
    totals.service_id,
    totals.service_name,
    totals.board_id,
    totals.incidents,
    {{ mtta_columns() }}

from totals
{{- mtta_joins(['board_id']) }}
