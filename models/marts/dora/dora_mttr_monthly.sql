{#- Median time to restore service (DORA 2021), per calendar month (UTC) of resolution, over all services:
    DevLake's lower median, taken of exact lead times in seconds. mttr_minutes is DevLake's whole minutes
    (the same incident's truncated lead time: truncation keeps the order), mttr_hours the exact quotient;
    nothing is rounded here: the report and the dashboards round where they show a number. -#}
with resolved as (

    select resolution_month, lead_time_seconds
    from {{ ref('dora_incidents') }} as dora_incidents
    where resolution_date is not null and lead_time_seconds is not null

),

medians as (

    {{ lower_median('resolved', 'lead_time_seconds', ['resolution_month']) }}

)

select
    resolution_month as month,
    n as resolved_incidents,
    median as mttr_seconds,
    cast(floor(median / 60) as signed) as mttr_minutes,
    median / 3.6e3 as mttr_hours,
    {{ recovery_time_level('floor(median / 60)') }} as level

from medians
