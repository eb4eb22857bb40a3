{{ config(materialized='view') }}
{#- Change failure rate per calendar month (UTC) in which successful production deployments finished:
    a deployment failed when at least one incident is linked to it, and counts once. -#}
with deployments as (

    select id, {{ month_start('finished_date') }} as month
    from {{ ref('cicd_deployments') }}
    where result = 'SUCCESS' and environment = 'PRODUCTION'

),

failed as (

    select distinct deployment_id from {{ ref('project_incident_deployment_relationships') }}

),

monthly as (

    select
        deployments.month,
        count(*) as deployments,
        sum(case when failed.deployment_id is not null then 1 else 0 end) as failed_deployments
    from deployments
    left join failed on failed.deployment_id = deployments.id
    group by deployments.month

)

select
    month,
    deployments,
    failed_deployments,
    cast(failed_deployments / deployments as decimal(7, 4)) as change_failure_rate,
    {{ change_failure_rate_level('failed_deployments / deployments') }} as level

from monthly
