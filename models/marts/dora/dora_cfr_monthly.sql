{#- Change failure rate per calendar month (UTC) in which successful production deployments finished: a
    deployment failed when at least one incident is linked to it, and counts once, however many services it
    deployed. The rate is the exact quotient (a double): it is rounded only where it is shown. -#}
with monthly as (

    select month, count(*) as deployments, sum(is_failed) as failed_deployments
    from {{ ref('int_deployment_outcomes') }} as int_deployment_outcomes
    group by month

)

select
    month,
    deployments,
    failed_deployments,
    failed_deployments * 1e0 / deployments as change_failure_rate,
    {{ change_failure_rate_level('failed_deployments * 1e0 / deployments') }} as level

from monthly
