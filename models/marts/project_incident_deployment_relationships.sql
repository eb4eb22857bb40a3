{#- DevLake's incident-to-deployment links: each incident the metrics count is caused by the latest
    successful production deployment of its service that finished strictly before the incident was
    created (no earlier than var `dora_max_deployment_gap_hours` before it, when set: DevLake #8150). -#}
{%- set gap_hours = var('dora_max_deployment_gap_hours', none) %}

with linked as (

    select
        incidents.issue_id,
        (
            select deployments.id
            from {{ ref('cicd_deployments') }} as deployments
            where deployments.cicd_scope_id = incidents.board_id
                and deployments.result = 'SUCCESS'
                and deployments.environment = 'PRODUCTION'
                and deployments.finished_date < incidents.created_date
                {%- if gap_hours is not none %}
                and {{ minutes_between('deployments.finished_date', 'incidents.created_date') }} <= {{ gap_hours * 60 }}
                {%- endif %}
            order by deployments.finished_date desc, deployments.id desc
            limit 1
        ) as deployment_id
    from {{ ref('dora_incidents') }} as incidents

)

select
    cast(issue_id as char(255)) as id,
    cast(null as char(255)) as project_name,
    cast(deployment_id as char(255)) as deployment_id

from linked
where deployment_id is not null
