{#- dora_mttr_monthly per PagerDuty service. -#}
with resolved as (

    select resolution_month, service_id, service_name, board_id, lead_time_seconds
    from {{ ref('dora_incidents') }} as dora_incidents
    where resolution_date is not null and lead_time_seconds is not null

),

medians as (

    {{ lower_median('resolved', 'lead_time_seconds', ['resolution_month', 'board_id', 'service_id', 'service_name']) }}

)

select
    resolution_month as month,
    service_id,
    service_name,
    board_id,
    n as resolved_incidents,
    median as mttr_seconds,
    cast(floor(median / 60) as signed) as mttr_minutes,
    median / 3.6e3 as mttr_hours,
    {{ recovery_time_level('floor(median / 60)') }} as level

from medians
