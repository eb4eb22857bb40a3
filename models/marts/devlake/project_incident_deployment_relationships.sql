{#- DevLake's incident-to-deployment links (see int_incident_deployment_links for the rule), with the project.
    One row per incident, under the first (by name) of the projects its service is in: DevLake's dora plugin
    writes a row per project, but its dashboards join this table on the incident alone, so an incident of a
    service in two projects would count twice in their failed deployment recovery time. The link is per
    service, so every project would name the same deployment. A view over the indexed links (a join MySQL
    and MariaDB merge into the dashboards' queries), so a rerun rewrites nothing here. -#}
{{ config(materialized='view') }}

select
    links.issue_id as id,
    projects.project_name,
    links.deployment_id

from {{ ref('int_incident_deployment_links') }} as links
inner join {{ ref('int_project_boards') }} as projects on projects.board_id = links.board_id
where not exists (
    select 1
    from {{ ref('int_project_boards') }} as earlier
    where earlier.board_id = projects.board_id and earlier.project_name < projects.project_name
)
