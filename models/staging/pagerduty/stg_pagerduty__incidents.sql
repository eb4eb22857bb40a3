with source as (

    select * from {{ source('pagerduty', 'incidents') }}

)

select
    connection_id,
    id as incident_id,
    incident_number,
    title,
    summary,
    status,
    urgency,
    priority_name,
    service_id,
    service_name,
    html_url,
    cast(created_at as datetime) as created_at,
    cast(updated_at as datetime) as updated_at,
    cast(resolved_at as datetime) as resolved_at,
    cast(last_status_change_at as datetime) as last_status_change_at,
    assignments,
    cast(fetched_at as datetime(6)) as loaded_at,
    _dlt_load_id as load_id

from source
