{#- Failed deployment recovery time (DORA 2023): for each resolved incident linked to a deployment, minutes
    from the deployment's finish to the incident's resolution; DevLake's lower median per calendar month
    (UTC) of the deployment's finish. -#}
with recoveries as (

    select
        outcomes.month,
        {{ minutes_between('outcomes.finished_at', 'incidents.resolution_date') }} as recovery_minutes
    from {{ ref('int_incident_deployment_links') }} as links
    inner join {{ ref('int_deployment_outcomes') }} as outcomes on outcomes.deployment_id = links.deployment_id
    inner join {{ ref('int_incidents_counted') }} as incidents on incidents.issue_id = links.issue_id
    where incidents.resolution_date is not null

),

medians as (

    {{ lower_median('recoveries', 'recovery_minutes', ['month']) }}

)

select
    month,
    n as recovered_incidents,
    median as recovery_minutes,
    cast(median / 60.0 as decimal(12, 2)) as recovery_hours,
    {{ recovery_time_level('median') }} as level

from medians
