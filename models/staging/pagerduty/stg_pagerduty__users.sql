with source as (

    select * from {{ source('pagerduty', 'users') }} as users

)

select
    connection_id,
    id as user_id,
    name as user_name,
    time_zone,
    html_url,
    load_seq

from source
