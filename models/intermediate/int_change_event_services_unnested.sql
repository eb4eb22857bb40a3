{#- One row per change event and service it names: a change event naming several services is a deployment
    of each. -#}
with events as (

    select * from {{ ref('stg_pagerduty__change_events') }}

)

select
    events.connection_id,
    events.change_event_id,
    events.changed_at,
    events.summary,
    events.integration_id,
    events.custom_details,
    service.service_id

from events
cross join {{ json_array_rows('events.services', [('service_id', 'varchar(64)', '$.id')], 'service') }}
where service.service_id is not null
