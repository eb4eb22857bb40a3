{#- dora_mttr_monthly per PagerDuty service. -#}
with resolved as (

    select resolution_month, service_id, service_name, board_id, lead_time_minutes
    from {{ ref('dora_incidents') }}
    where resolution_date is not null and lead_time_minutes is not null

),

medians as (

    {{ lower_median('resolved', 'lead_time_minutes', ['resolution_month', 'board_id', 'service_id', 'service_name']) }}

)

select
    resolution_month as month,
    service_id,
    service_name,
    board_id,
    n as resolved_incidents,
    median as mttr_minutes,
    cast(median / 60.0 as decimal(12, 2)) as mttr_hours,
    {{ recovery_time_level('median') }} as level

from medians
