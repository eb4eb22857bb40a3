{#- DevLake's `cicd_deployments`, from both sources, each on the board of the service it deployed:
    PagerDuty change events (a successful production deployment when they pass the deployment filter vars)
    and user-supplied deployments (matched to every connection's service of that id unless a connection is
    named). Only result SUCCESS in environment PRODUCTION counts for the DORA metrics. -#}
{{ config(post_hook="{{ ensure_index(this, 'ix_cicd_deployments_board_finished', ['cicd_scope_id', 'finished_date']) }}") }}

with change_events as (

    select
        cast({{ concat_strings(["'pagerduty:ChangeEvent:'", 'connection_id', "':'", 'change_event_id', "':'", 'service_id']) }}
            as char(255)) as id,
        cast({{ concat_strings(["'pagerduty:Service:'", 'connection_id', "':'", 'service_id']) }} as char(255))
            as board_id,
        service_id,
        summary as name,
        cast('SUCCESS' as char(32)) as original_result,
        cast({{ json_text('custom_details', '$.environment') }} as char(255)) as original_environment,
        case when {{ change_event_is_deployment('integration_id', 'custom_details') }} then 1 else 0 end
            as counted,
        changed_at as started_at,
        changed_at as finished_at,
        cast('pagerduty_change_event' as char(32)) as origin
    from {{ ref('int_change_event_services_unnested') }}

),

user_supplied as (

    select
        cast({{ concat_strings(["'deployment:'", 'deployments.deployment_id', "'@'", 'boards.id']) }} as char(255))
            as id,
        boards.id as board_id,
        deployments.service_id,
        deployments.name,
        deployments.result as original_result,
        deployments.environment as original_environment,
        case when deployments.result = 'SUCCESS' and deployments.environment = 'PRODUCTION' then 1 else 0 end
            as counted,
        coalesce(deployments.started_at, deployments.finished_at) as started_at,
        deployments.finished_at,
        cast('user' as char(32)) as origin
    from {{ ref('stg_deployments__deployments') }} as deployments
    inner join {{ ref('boards') }} as boards
        on {{ last_part('boards.id', ':') }} = deployments.service_id
        and (
            deployments.connection_id is null
            or boards.id = {{ concat_strings(["'pagerduty:Service:'", 'deployments.connection_id', "':'", 'deployments.service_id']) }}
        )
    where deployments.finished_at is not null

),

unioned as (

    select * from change_events
    union all
    select * from user_supplied

)

select
    unioned.id,
    unioned.board_id as cicd_scope_id,
    unioned.service_id,
    unioned.name,
    unioned.name as display_title,
    cast(case when unioned.counted = 1 then 'SUCCESS' else coalesce(unioned.original_result, 'OTHER') end
        as char(32)) as result,
    cast('DONE' as char(32)) as status,
    unioned.original_result,
    cast(case when unioned.counted = 1 then 'PRODUCTION' else 'OTHER' end as char(32)) as environment,
    unioned.original_environment,
    unioned.started_at as created_date,
    unioned.started_at as started_date,
    unioned.finished_at as finished_date,
    cast({{ seconds_between('unioned.started_at', 'unioned.finished_at') }} as signed) as duration_sec,
    unioned.origin

from unioned
{#- a change event may also name services outside the blueprint's scope: those have no board #}
inner join {{ ref('boards') }} as boards on boards.id = unioned.board_id
