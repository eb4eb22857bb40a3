{#- One board per PagerDuty service some scope covers: the services listed (those of a scope naming
    services, or every service of a connection a scope covers whole), and services that covered incidents
    reference but the listing lacks (deleted since), so every incident has its board. A table: the marts,
    the deployments and the projects each read it. -#}
{{ config(
    materialized='table',
    table_keys=[['PRIMARY', ['board_id']], ['ix_boards_service', ['connection_id', 'service_id']]],
    post_hook="{{ ensure_table_keys(this) }}",
) }}
with services as (

    select * from {{ ref('stg_pagerduty__services') }} as stg_pagerduty__services

),

scopes as (

    select * from {{ ref('stg_pagerduty__scopes') }} as stg_pagerduty__scopes

),

listed as (

    select connection_id, service_id, service_name, description, html_url, created_at
    from services
    where exists (
        select 1
        from scopes
        where scopes.connection_id = services.connection_id
            and (scopes.service_id = '*' or scopes.service_id = services.service_id)
    )

),

referenced as (

    {#- distinct pairs only: read from the index on (connection_id, service_id), not from every row #}
    select connection_id, service_id
    from {{ ref('int_incidents_covered') }} as int_incidents_covered
    where service_id is not null
    group by connection_id, service_id

),

all_services as (

    select * from listed
    union all
    select
        referenced.connection_id,
        referenced.service_id,
        (
            select max(named.service_name)
            from {{ ref('int_incidents_covered') }} as named
            where named.connection_id = referenced.connection_id and named.service_id = referenced.service_id
        ) as service_name,
        null as description,
        null as html_url,
        null as created_at
    from referenced
    where not exists (
        select 1
        from listed
        where listed.connection_id = referenced.connection_id and listed.service_id = referenced.service_id
    )

)

select
    {{ devlake_id('Service', 'connection_id', 'service_id') }} as board_id,
    connection_id,
    service_id,
    service_name,
    description,
    html_url,
    created_at

from all_services
