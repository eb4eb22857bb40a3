{#- DevLake's incident-to-deployment links (see int_incident_deployment_links for the rule). -#}
select
    cast(issue_id as char(255)) as id,
    cast(null as char(255)) as project_name,
    cast(deployment_id as char(255)) as deployment_id

from {{ ref('int_incident_deployment_links') }}
