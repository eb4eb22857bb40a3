{#- DevLake's incident-to-deployment links (see int_incident_deployment_links for the rule), with the project.
    One row per incident, under the first (by name) of the projects its service is in: DevLake's dora plugin
    writes a row per project, but its dashboards join this table on the incident alone, so an incident of a
    service in two projects would count twice in their failed deployment recovery time. The link is per
    service, so every project would name the same deployment. -#}
{{ config(post_hook="{{ ensure_primary_key(this, ['id', 'project_name']) }}") }}

with projects as (

    select board_id, min(project_name) as project_name
    from {{ ref('int_project_boards') }}
    group by board_id

)

select
    cast(links.issue_id as char(255)) as id,
    cast(projects.project_name as char(100)) as project_name,
    cast(links.deployment_id as char(255)) as deployment_id

from {{ ref('int_incident_deployment_links') }} as links
inner join projects on projects.board_id = links.board_id
