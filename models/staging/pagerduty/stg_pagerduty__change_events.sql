with source as (

    select * from {{ source('pagerduty', 'change_events') }} as change_events

)

select
    connection_id,
    id as change_event_id,
    `timestamp` as changed_at,
    summary,
    source as sender,
    integration_id,
    services,
    custom_details,
    load_seq

from source
