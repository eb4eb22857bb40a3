{#- Which boards (PagerDuty services) belong to which DevLake project: a project holds the boards its
    blueprints' scopes cover, every board of the connection for a scope of all services. A service two
    blueprints cover belongs to both projects, as in DevLake. Each board is also the project's CI/CD scope:
    its deployments are PagerDuty change events and deployment-file rows naming that service. -#}
{{ config(
    materialized='table',
    table_keys=[['ix_project_boards_board', ['board_id']]],
    post_hook="{{ ensure_table_keys(this) }}",
) }}
with scopes as (

    select * from {{ ref('stg_pagerduty__scopes') }} as stg_pagerduty__scopes

),

boards as (

    select * from {{ ref('int_boards') }} as int_boards

)

select distinct
    scopes.project_name,
    boards.board_id

from scopes
inner join boards
    on boards.connection_id = scopes.connection_id
    and (scopes.service_id = '*' or scopes.service_id = boards.service_id)
