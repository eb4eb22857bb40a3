{{ config(materialized='view') }}
{#- dora_cfr_monthly per PagerDuty service. -#}
with monthly as (

    select month, board_id, service_id, count(*) as deployments, sum(failed) as failed_deployments
    from {{ ref('dora_deployments') }}
    group by month, board_id, service_id

)

select
    monthly.month,
    monthly.service_id,
    boards.name as service_name,
    monthly.board_id,
    monthly.deployments,
    monthly.failed_deployments,
    cast(monthly.failed_deployments / monthly.deployments as decimal(7, 4)) as change_failure_rate,
    {{ change_failure_rate_level('monthly.failed_deployments / monthly.deployments') }} as level

from monthly
left join {{ ref('boards') }} as boards on boards.id = monthly.board_id
