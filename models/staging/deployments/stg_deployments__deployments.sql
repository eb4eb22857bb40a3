{#- Deployments users supply from outside PagerDuty (the latest CSV file's rows). -#}
with source as (

    select * from {{ source('deployments', 'deployments') }} as deployments

)

select
    id as deployment_id,
    connection_id,
    service_id,
    name,
    started_at,
    finished_at,
    upper(result) as result,
    upper(environment) as environment,
    custom_details,
    load_seq

from source
