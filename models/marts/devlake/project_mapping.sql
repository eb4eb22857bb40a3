{#- DevLake's `project_mapping`: the boards (`table` = 'boards') and CI/CD scopes (`table` = 'cicd_scopes') of
    each project. A PagerDuty service is both: its incidents are on the board, its deployments in the CI/CD
    scope of the same id, so DevLake's DORA SQL finds a project's incidents and deployments alike. -#}
{{ config(
    table_keys=[['PRIMARY', ['project_name', '`table`', 'row_id']]],
    post_hook="{{ ensure_table_keys(this) }}",
) }}

with project_boards as (

    select project_name, board_id from {{ ref('int_project_boards') }} as int_project_boards

),

mapped as (

    select project_name, 'boards' as table_name, board_id as row_id from project_boards
    union all
    select project_name, 'cicd_scopes' as table_name, board_id as row_id from project_boards

)

select
    cast(project_name as char(255)) as project_name,
    cast(table_name as char(255)) as `table`,
    cast(row_id as char(255)) as row_id,
    cast(null as datetime) as created_at,
    cast(null as datetime) as updated_at,
    cast(null as char(255)) as _raw_data_params,
    cast(null as char(255)) as _raw_data_table,
    cast(null as unsigned) as _raw_data_id,
    cast(null as char(255)) as _raw_data_remark

from mapped
