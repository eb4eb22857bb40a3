{#- Failed deployment recovery time (DORA 2023): for each resolved incident linked to a deployment, the time
    from the deployment's finish to the incident's resolution; DevLake's lower median per calendar month (UTC)
    of the deployment's finish, taken of exact seconds. recovery_minutes is whole minutes (DevLake's),
    recovery_hours the exact quotient (rounded only where shown). -#}
with recoveries as (

    select
        outcomes.month,
        {{ seconds_between('outcomes.finished_at', 'incidents.resolution_date') }} as recovery_seconds
    from {{ ref('int_incident_deployment_links') }} as links
    inner join {{ ref('int_deployment_outcomes') }} as outcomes on outcomes.deployment_id = links.deployment_id
    inner join {{ ref('int_incidents_counted') }} as incidents on incidents.issue_id = links.issue_id
    where incidents.resolution_date is not null

),

medians as (

    {{ lower_median('recoveries', 'recovery_seconds', ['month']) }}

)

select
    month,
    n as recovered_incidents,
    median as recovery_seconds,
    cast(floor(median / 60) as signed) as recovery_minutes,
    median / 3.6e3 as recovery_hours,
    {{ recovery_time_level('floor(median / 60)') }} as level

from medians
