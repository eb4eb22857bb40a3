{#- dora_mttr_monthly per DevLake project (a blueprint's projectName, else its name): DevLake's lower median of
    the exact lead times of the counted incidents on the project's boards, per calendar month (UTC) of
    resolution. An incident counts once in each project holding its service (a service two blueprints cover
    is in both). Nothing rounded. -#}
with resolved as (

    select projects.project_name, incidents.resolution_month, incidents.lead_time_seconds
    from {{ ref('dora_incidents') }} as incidents
    inner join {{ ref('int_project_boards') }} as projects on projects.board_id = incidents.board_id
    where incidents.resolution_date is not null and incidents.lead_time_seconds is not null

),

medians as (

    {{ lower_median('resolved', 'lead_time_seconds', ['project_name', 'resolution_month']) }}

)

select
    cast(project_name as char(255)) as project_name,
    resolution_month as month,
    n as resolved_incidents,
    median as mttr_seconds,
    cast(floor(median / 60) as signed) as mttr_minutes,
    median / 3.6e3 as mttr_hours,
    {{ recovery_time_level('floor(median / 60)') }} as level

from medians
