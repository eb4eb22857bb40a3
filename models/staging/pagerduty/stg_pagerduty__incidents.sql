with source as (

    select * from {{ source('pagerduty', 'incidents') }} as incidents

)

select
    connection_id,
    id as incident_id,
    incident_number,
    title,
    summary,
    status,
    urgency,
    priority_id,
    priority_name,
    service_id,
    service_name,
    html_url,
    created_at,
    updated_at,
    resolved_at,
    last_status_change_at,
    resolve_reason_type,
    merged_into_id,
    teams,
    fetched_at as loaded_at,
    load_seq

from source
