{#- Change events; an empty set while the account has sent none (dlt has not created the table). -#}
with source as (

    select * from {{ source_or_empty('pagerduty', 'change_events', {
        'connection_id': 'signed', 'id': 'char(64)', 'timestamp': 'datetime', 'summary': 'char(255)',
        'source': 'char(255)', 'integration_id': 'char(64)', 'services': 'char(255)',
        'custom_details': 'char(255)', 'fetched_at': 'datetime(6)',
    }) }} as change_events

)

select
    connection_id,
    id as change_event_id,
    cast(`timestamp` as datetime) as changed_at,
    summary,
    source as sender,
    integration_id,
    services,
    custom_details,
    cast(fetched_at as datetime(6)) as loaded_at

from source
