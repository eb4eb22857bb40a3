{#- Median time to restore service (DORA 2021), per calendar month (UTC) of resolution, over all services:
    DevLake's lower median of lead_time_minutes. -#}
with resolved as (

    select resolution_month, lead_time_minutes
    from {{ ref('dora_incidents') }}
    where resolution_date is not null and lead_time_minutes is not null

),

medians as (

    {{ lower_median('resolved', 'lead_time_minutes', ['resolution_month']) }}

)

select
    resolution_month as month,
    n as resolved_incidents,
    median as mttr_minutes,
    cast(median / 60.0 as decimal(12, 2)) as mttr_hours,
    {{ recovery_time_level('median') }} as level

from medians
