{{ config(materialized='view') }}
{#- Failed deployment recovery time (DORA 2023): for each resolved incident linked to a deployment, minutes
    from the deployment's finish to the incident's resolution; DevLake's lower median per calendar month
    (UTC) of the deployment's finish. -#}
with recoveries as (

    select
        {{ month_start('deployments.finished_date') }} as month,
        {{ minutes_between('deployments.finished_date', 'incidents.resolution_date') }} as recovery_minutes
    from {{ ref('project_incident_deployment_relationships') }} as links
    inner join {{ ref('cicd_deployments') }} as deployments on deployments.id = links.deployment_id
    inner join {{ ref('dora_incidents') }} as incidents on incidents.issue_id = links.id
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
