{{ config(materialized='view') }}
{#- dora_cfr_monthly per PagerDuty service. -#}
with deployments as (

    select id, cicd_scope_id as board_id, service_id, {{ month_start('finished_date') }} as month
    from {{ ref('cicd_deployments') }}
    where result = 'SUCCESS' and environment = 'PRODUCTION'

),

failed as (

    select distinct deployment_id from {{ ref('project_incident_deployment_relationships') }}

),

monthly as (

    select
        deployments.month,
        deployments.board_id,
        deployments.service_id,
        count(*) as deployments,
        sum(case when failed.deployment_id is not null then 1 else 0 end) as failed_deployments
    from deployments
    left join failed on failed.deployment_id = deployments.id
    group by deployments.month, deployments.board_id, deployments.service_id

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
