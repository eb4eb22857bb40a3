with source as (

    select * from {{ source('pagerduty', 'loads') }}

)

select
    load_id,
    cast(inserted_at as datetime(6)) as committed_at

from source
where status = 0
