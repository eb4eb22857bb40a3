with source as (

    select * from {{ source('pagerduty', 'teams') }} as teams

)

select
    connection_id,
    id as team_id,
    name as team_name,
    description,
    html_url,
    load_seq

from source
