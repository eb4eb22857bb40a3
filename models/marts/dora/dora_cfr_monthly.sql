{#- Change failure rate per calendar month (UTC) in which successful production deployments finished: a
    deployment failed when at least one incident is linked to it, and counts once, however many services it
    deployed. -#}
with monthly as (

    select month, count(*) as deployments, sum(is_failed) as failed_deployments
    from {{ ref('int_deployment_outcomes') }}
    group by month

)

select
    month,
    deployments,
    failed_deployments,
    cast(failed_deployments / deployments as decimal(7, 4)) as change_failure_rate,
    {{ change_failure_rate_level('failed_deployments / deployments') }} as level

from monthly
