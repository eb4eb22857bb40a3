with source as (

    select * from {{ source('pagerduty', 'loads') }} as loads

)

select
    load_id,
    seq as load_seq,
    kind,
    connection_id,
    completed_at

from source
where status = 'completed'
