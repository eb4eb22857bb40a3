with source as (

    select * from {{ source('pagerduty', 'priorities') }} as priorities

)

select
    connection_id,
    id as priority_id,
    name as priority_name,
    description,
    ordinal as priority_order,
    load_seq

from source
