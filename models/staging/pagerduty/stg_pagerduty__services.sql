with source as (

    select * from {{ source('pagerduty', 'services') }} as services

)

select
    connection_id,
    id as service_id,
    name as service_name,
    description,
    html_url,
    created_at,
    load_seq

from source
