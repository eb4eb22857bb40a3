{#- DevLake's `cicd_scopes`: each PagerDuty service a scope covers is the CI/CD scope of its deployments, with
    the id of its board (DevLake's DORA SQL ties deployments to a project through this id). -#}
select
    board_id as id,
    cast(service_name as char(255)) as name,
    description,
    cast(html_url as char(255)) as url,
    created_at as created_date,
    cast(null as datetime) as updated_date

from {{ ref('int_boards') }} as int_boards
