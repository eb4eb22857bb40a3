{{ config(materialized='view') }}
{#- Change failure rate per calendar month (UTC) in which successful production deployments finished:
    a deployment failed when at least one incident is linked to it, and counts once. -#}
with monthly as (

    select month, count(*) as deployments, sum(failed) as failed_deployments
    from {{ ref('dora_deployments') }}
    group by month

)

select
    month,
    deployments,
    failed_deployments,
    cast(failed_deployments / deployments as decimal(7, 4)) as change_failure_rate,
    {{ change_failure_rate_level('failed_deployments / deployments') }} as level

from monthly
