with source as (

    select * from {{ source('pagerduty', 'services') }}

)

select
    connection_id,
    id as service_id,
    name as service_name,
    description,
    html_url,
    cast(created_at as datetime) as created_at,
    cast(fetched_at as datetime(6)) as loaded_at

from source
