{#- DevLake's incident-to-deployment links (see int_incident_deployment_links for the rule), one row per
    incident and project its board is in, as DevLake's dora plugin writes them project by project. The link
    itself is per service, so an incident has the same deployment in every project. -#}
{{ config(post_hook="{{ ensure_primary_key(this, ['id', 'project_name']) }}") }}

select
    cast(links.issue_id as char(255)) as id,
    cast(projects.project_name as char(100)) as project_name,
    cast(links.deployment_id as char(255)) as deployment_id

from {{ ref('int_incident_deployment_links') }} as links
inner join {{ ref('int_project_boards') }} as projects on projects.board_id = links.board_id
