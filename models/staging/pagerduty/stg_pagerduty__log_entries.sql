with source as (

    select * from {{ source('pagerduty', 'log_entries') }} as log_entries

)

select
    connection_id,
    id as log_entry_id,
    type as entry_type,
    created_at,
    incident_id,
    service_id,
    agent_id,
    agent_type,
    channel_type,
    assignees,
    user_id as notified_user_id,
    load_seq

from source
