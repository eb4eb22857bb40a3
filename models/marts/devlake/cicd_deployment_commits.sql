{#- DevLake's `cicd_deployment_commits`, which its DORA dashboards read deployments from: one row per
    deployment and covered service it deployed (PagerDuty knows no commits, so a service stands where DevLake
    has a repository's commit). DevLake counts a deployment once (`cicd_deployment_id`), finished at the
    latest finished_date of its rows, and only with result SUCCESS in environment PRODUCTION: the same
    deployments, counted the same way, as int_deployment_outcomes. -#}
{{ config(
    table_keys=[
        ['PRIMARY', ['id', 'commit_sha']],
        ['ix_cicd_deployment_commits_scope', ['cicd_scope_id', 'finished_date']],
    ],
    post_hook="{{ ensure_table_keys(this) }}",
) }}

with deployed as (

    select deployment_id, board_id from {{ ref('int_deployment_boards') }} as int_deployment_boards

)

select
    cast({{ concat_strings(['deployed.deployment_id', "':'", 'deployed.board_id']) }} as char(255)) as id,
    deployed.board_id as cicd_scope_id,
    deployments.deployment_id as cicd_deployment_id,
    cast(deployments.name as char(255)) as name,
    deployments.name as display_title,
    cast(null as char(255)) as url,
    cast(case when deployments.is_counted = 1 then 'SUCCESS' else coalesce(deployments.original_result, 'OTHER') end
        as char(100)) as result,
    cast('DONE' as char(100)) as status,
    cast(null as char(100)) as original_status,
    cast(deployments.original_result as char(100)) as original_result,
    cast(case when deployments.is_counted = 1 then 'PRODUCTION' else 'OTHER' end as char(255)) as environment,
    cast(deployments.original_environment as char(255)) as original_environment,
    deployments.started_at as created_date,
    cast(null as datetime) as queued_date,
    deployments.started_at as started_date,
    deployments.finished_at as finished_date,
    cast({{ seconds_between('deployments.started_at', 'deployments.finished_at') }} as double) as duration_sec,
    cast(null as double) as queued_duration_sec,
    cast('' as char(255)) as commit_sha,
    cast(null as char(255)) as commit_msg,
    cast(null as char(255)) as ref_name,
    cast(null as char(255)) as repo_id,
    cast('' as char(255)) as repo_url,
    cast(null as char(255)) as prev_success_deployment_commit_id,
    cast(null as char(255)) as subtask_name,
    cast(deployments.origin as char(32)) as origin

from deployed
inner join {{ ref('int_deployments') }} as deployments on deployments.deployment_id = deployed.deployment_id
