{#- One row per deployment, whatever its source: a PagerDuty change event (one deployment, however many
    services it names) or a row of the deployments file. A deployment counts for DORA when it is a successful
    production deployment: change events pass the deployment filter vars; file rows must say SUCCESS and
    PRODUCTION and pass the custom-details filter too. -#}
with change_events as (

    select
        {{ devlake_id('ChangeEvent', 'connection_id', 'change_event_id') }} as deployment_id,
        connection_id,
        summary as name,
        cast('SUCCESS' as char(32)) as original_result,
        cast({{ json_text('custom_details', '$.environment') }} as char(255)) as original_environment,
        changed_at as started_at,
        changed_at as finished_at,
        case when {{ deployment_filter('integration_id', 'custom_details', 1) }} then 1 else 0 end as is_counted,
        cast('pagerduty_change_event' as char(32)) as origin
    from {{ ref('stg_pagerduty__change_events') }} as stg_pagerduty__change_events

),

from_file as (

    select
        cast({{ concat_strings(["'deployment:'", 'deployment_id']) }} as char(255)) as deployment_id,
        connection_id,
        name,
        cast(result as char(32)) as original_result,
        cast(environment as char(255)) as original_environment,
        coalesce(started_at, finished_at) as started_at,
        finished_at,
        case
            when result = 'SUCCESS' and environment = 'PRODUCTION'
                and {{ deployment_filter('null', 'custom_details', 0) }} then 1
            else 0
        end as is_counted,
        cast('user' as char(32)) as origin
    from {{ ref('stg_deployments__deployments') }} as stg_deployments__deployments

)

select * from change_events
union all
select * from from_file
