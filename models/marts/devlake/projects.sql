{#- DevLake's `projects`: one per project some blueprint's scopes name (its projectName, else its name). The
    dashboards list their projects from here. -#}
select
    cast(project_name as char(255)) as name,
    cast(null as char(255)) as description,
    min(recorded_at) as created_at,
    max(recorded_at) as updated_at

from {{ ref('stg_pagerduty__scopes') }} as stg_pagerduty__scopes
group by project_name
