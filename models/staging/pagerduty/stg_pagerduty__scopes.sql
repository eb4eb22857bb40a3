with source as (

    select * from {{ source('pagerduty', 'scopes') }} as scopes

)

select
    blueprint,
    project as project_name,
    connection_id,
    service_id,
    start_date,
    recorded_at

from source
