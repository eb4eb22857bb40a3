{#- Per service and calendar month (UTC) of creation: the counted incidents, the share that resolved on their
    own (auto_resolved), the share resolved within 5 minutes of creation, and the interruptions they caused
    (each user once per incident). Shares are 0 to 1, exact. -#}
with monthly as (

    select
        created_month,
        board_id,
        max(service_id) as service_id,
        max(service_name) as service_name,
        count(*) as incidents,
        sum(case when auto_resolved = 1 then 1 else 0 end) as auto_resolved_incidents,
        sum(case when seconds_to_resolve <= 300 then 1 else 0 end) as resolved_within_5_minutes,
        sum(total_interruptions) as interruptions,
        sum(sleep_hour_interruptions) as sleep_hour_interruptions
    from {{ ref('response_incidents') }} as response_incidents
    where {{ dora_incident_filter('urgency', 'priority_name', 'is_merged') }}
    group by created_month, board_id

)

select
    created_month as month,
    board_id,
    service_id,
    service_name,
    incidents,
    cast(auto_resolved_incidents as signed) as auto_resolved_incidents,
    auto_resolved_incidents * 1e0 / incidents as auto_resolved_rate,
    cast(resolved_within_5_minutes as signed) as resolved_within_5_minutes,
    resolved_within_5_minutes * 1e0 / incidents as resolved_within_5_minutes_rate,
    cast(interruptions as signed) as interruptions,
    cast(sleep_hour_interruptions as signed) as sleep_hour_interruptions

from monthly
