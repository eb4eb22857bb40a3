{#- DevLake's `cicd_deployments`: one row per deployment that deployed a covered service, from PagerDuty
    change events and the deployments file, with DevLake's columns (those PagerDuty has nothing for are null).
    A deployment naming several services is one deployment; cicd_scope_id is the first of their boards
    (cicd_deployment_commits has a row for each). Only result SUCCESS in environment PRODUCTION counts. -#}
{{ config(
    table_keys=[['ix_cicd_deployments_scope_finished', ['cicd_scope_id', 'finished_date']]],
    post_hook="{{ ensure_table_keys(this) }}",
) }}

with scopes as (

    select deployment_id, min(board_id) as board_id
    from {{ ref('int_deployment_boards') }} as int_deployment_boards
    group by deployment_id

)

select
    deployments.deployment_id as id,
    scopes.board_id as cicd_scope_id,
    deployments.name,
    deployments.name as display_title,
    cast(null as char(255)) as url,
    cast(case when deployments.is_counted = 1 then 'SUCCESS' else coalesce(deployments.original_result, 'OTHER') end
        as char(32)) as result,
    cast('DONE' as char(32)) as status,
    cast(null as char(100)) as original_status,
    deployments.original_result,
    cast(case when deployments.is_counted = 1 then 'PRODUCTION' else 'OTHER' end as char(32)) as environment,
    deployments.original_environment,
    deployments.started_at as created_date,
    cast(null as datetime) as queued_date,
    deployments.started_at as started_date,
    deployments.finished_at as finished_date,
    cast({{ seconds_between('deployments.started_at', 'deployments.finished_at') }} as signed) as duration_sec,
    cast(null as double) as queued_duration_sec,
    cast(null as char(255)) as subtask_name,
    deployments.origin

from {{ ref('int_deployments') }} as deployments
inner join scopes on scopes.deployment_id = deployments.deployment_id
