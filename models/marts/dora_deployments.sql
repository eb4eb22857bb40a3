{{ config(materialized='view') }}
{#- The deployments behind the change failure rate: successful production deployments, each with its
    month (UTC) of finish and whether an incident the metrics count is linked to it. -#}
with failed as (

    select distinct deployment_id from {{ ref('project_incident_deployment_relationships') }}

)

select
    deployments.id as deployment_id,
    deployments.cicd_scope_id as board_id,
    deployments.service_id,
    deployments.finished_date,
    {{ month_start('deployments.finished_date') }} as month,
    case when failed.deployment_id is not null then 1 else 0 end as failed

from {{ ref('cicd_deployments') }} as deployments
left join failed on failed.deployment_id = deployments.id
where deployments.result = 'SUCCESS' and deployments.environment = 'PRODUCTION'
