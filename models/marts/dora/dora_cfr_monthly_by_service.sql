{#- dora_cfr_monthly per PagerDuty service: a deployment of several services is one deployment of each, and
    failed (for each of them) when an incident of any of its services is linked to it. -#}
with monthly as (

    select
        outcomes.month,
        boards.board_id,
        boards.service_id,
        max(boards.service_name) as service_name,
        count(*) as deployments,
        sum(outcomes.is_failed) as failed_deployments
    from {{ ref('int_deployment_outcomes') }} as outcomes
    inner join {{ ref('int_deployment_boards') }} as boards on boards.deployment_id = outcomes.deployment_id
    group by outcomes.month, boards.board_id, boards.service_id

)

select
    month,
    service_id,
    service_name,
    board_id,
    deployments,
    failed_deployments,
    failed_deployments * 1e0 / deployments as change_failure_rate,
    {{ change_failure_rate_level('failed_deployments * 1e0 / deployments') }} as level

from monthly
