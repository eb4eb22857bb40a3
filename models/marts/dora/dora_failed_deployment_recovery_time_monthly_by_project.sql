{#- dora_failed_deployment_recovery_time_monthly per DevLake project: the resolved counted incidents on the
    project's boards that are linked to a deployment (of the same board), the exact seconds from the
    deployment's finish to the incident's resolution, DevLake's lower median per calendar month (UTC) of the
    deployment's finish. -#}
with recoveries as (

    select
        projects.project_name,
        outcomes.month,
        {{ seconds_between('outcomes.finished_at', 'incidents.resolution_date') }} as recovery_seconds
    from {{ ref('int_incident_deployment_links') }} as links
    inner join {{ ref('int_deployment_outcomes') }} as outcomes on outcomes.deployment_id = links.deployment_id
    inner join {{ ref('int_incidents_counted') }} as incidents on incidents.issue_id = links.issue_id
    inner join {{ ref('int_project_boards') }} as projects on projects.board_id = incidents.board_id
    where incidents.resolution_date is not null

),

medians as (

    {{ lower_median('recoveries', 'recovery_seconds', ['project_name', 'month']) }}

)

select
    cast(project_name as char(255)) as project_name,
    month,
    n as recovered_incidents,
    median as recovery_seconds,
    cast(floor(median / 60) as signed) as recovery_minutes,
    median / 3.6e3 as recovery_hours,
    {{ recovery_time_level('floor(median / 60)') }} as level

from medians
