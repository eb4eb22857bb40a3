with source as (

    select * from {{ source('pagerduty', 'time_zone_offsets') }} as time_zone_offsets

)

select
    connection_id,
    time_zone,
    valid_from,
    valid_until,
    utc_offset_seconds,
    load_seq

from source
