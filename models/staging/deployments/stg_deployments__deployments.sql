{#- Deployments users supply from outside PagerDuty; an empty set when none were ever loaded. -#}
with source as (

    select * from {{ source_or_empty('deployments', 'deployments', {
        'connection_id': 'signed', 'id': 'char(255)', 'service_id': 'char(64)', 'name': 'char(255)',
        'started_at': 'datetime', 'finished_at': 'datetime', 'result': 'char(32)', 'environment': 'char(32)',
    }) }} as deployments

)

select
    connection_id,
    id as deployment_id,
    service_id,
    name,
    cast(started_at as datetime) as started_at,
    cast(finished_at as datetime) as finished_at,
    upper(result) as result,
    upper(environment) as environment

from source
