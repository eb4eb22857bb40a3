with source as (

    select * from {{ source('pagerduty', 'incidents_versions') }} as incidents_versions

)

select
    version_id,
    load_id,
    connection_id,
    id as incident_id,
    assignments,
    fetched_at as loaded_at

from source
