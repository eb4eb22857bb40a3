{#- Each deployment on each covered board it deployed: every service a change event names, and for a file
    row the service of that id in its connection (or in every connection, when the row names none). A table
    indexed by board and finish time. counted_ordinal numbers each board's counted deployments in time order
    (ties by id), so int_incident_deployment_links can find the latest one by counting. -#}
{{ config(
    materialized='table',
    table_keys=[
        ['ix_deployment_boards_lookup', ['board_id', 'is_counted', 'finished_at']],
        ['ix_deployment_boards_ordinal', ['board_id', 'counted_ordinal']],
    ],
    post_hook="{{ ensure_table_keys(this) }}",
) }}

with deployments as (

    select * from {{ ref('int_deployments') }} as int_deployments

),

boards as (

    select * from {{ ref('int_boards') }} as int_boards

),

change_event_services as (

    select
        {{ devlake_id('ChangeEvent', 'events.connection_id', 'events.change_event_id') }} as deployment_id,
        {{ devlake_id('Service', 'events.connection_id', 'service.service_id') }} as board_id
    from {{ ref('stg_pagerduty__change_events') }} as events
    cross join {{ json_array_rows('events.services', [('service_id', 'varchar(64)', '$.id')], 'service') }}
    where service.service_id is not null

),

file_services as (

    select
        cast({{ concat_strings(["'deployment:'", 'file.deployment_id']) }} as char(255)) as deployment_id,
        boards.board_id
    from {{ ref('stg_deployments__deployments') }} as file
    inner join boards
        on boards.service_id = file.service_id
        and (file.connection_id is null or boards.connection_id = file.connection_id)

),

deployed as (

    select deployment_id, board_id from change_event_services
    union
    select deployment_id, board_id from file_services

)

select
    deployed.deployment_id,
    deployed.board_id,
    boards.connection_id,
    boards.service_id,
    boards.service_name,
    deployments.finished_at,
    deployments.is_counted,
    case when deployments.is_counted = 1 then row_number() over (
        partition by deployed.board_id, deployments.is_counted
        order by deployments.finished_at, deployed.deployment_id
    ) end as counted_ordinal

from deployed
inner join boards on boards.board_id = deployed.board_id
inner join deployments on deployments.deployment_id = deployed.deployment_id
