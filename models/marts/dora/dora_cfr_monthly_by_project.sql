{#- dora_cfr_monthly per DevLake project: the counted deployments of the project's services (its CI/CD scopes),
    each once however many of them it deployed, failed when at least one counted incident is linked to it
    (as DevLake's DORA dashboard counts a project's), by the calendar month (UTC) it finished. Exact rate. -#}
with project_deployments as (

    select distinct projects.project_name, boards.deployment_id
    from {{ ref('int_deployment_boards') }} as boards
    inner join {{ ref('int_project_boards') }} as projects on projects.board_id = boards.board_id
    where boards.is_counted = 1

),

monthly as (

    select
        project_deployments.project_name,
        outcomes.month,
        count(*) as deployments,
        sum(outcomes.is_failed) as failed_deployments
    from project_deployments
    inner join {{ ref('int_deployment_outcomes') }} as outcomes
        on outcomes.deployment_id = project_deployments.deployment_id
    group by project_deployments.project_name, outcomes.month

)

select
    cast(project_name as char(255)) as project_name,
    month,
    deployments,
    failed_deployments,
    failed_deployments * 1e0 / deployments as change_failure_rate,
    {{ change_failure_rate_level('failed_deployments * 1e0 / deployments') }} as level

from monthly
