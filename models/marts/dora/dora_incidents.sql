{#- The incidents behind the DORA metrics (see int_incidents_counted for which count). -#}
select
    issue_id,
    board_id,
    service_id,
    service_name,
    urgency,
    priority_name as priority,
    is_merged,
    created_at as created_date,
    resolution_date,
    lead_time_minutes,
    lead_time_seconds,
    resolution_month

from {{ ref('int_incidents_counted') }} as int_incidents_counted
