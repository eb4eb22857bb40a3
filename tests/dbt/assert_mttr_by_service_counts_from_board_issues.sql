{{ config(tags=['heavy']) }}
{#- Each service's monthly count of resolved incidents in dora_mttr_monthly_by_service equals the count from
    DevLake's issues and board_issues, and the services add up to the all-services view. -#}
with per_board as (

    select
        board_issues.board_id,
        cast(concat(year(issues.resolution_date), '-', lpad(month(issues.resolution_date), 2, '0'), '-01') as date)
            as month,
        count(*) as resolved
    from {{ ref('issues') }} as issues
    inner join {{ ref('board_issues') }} as board_issues on board_issues.issue_id = issues.id
    inner join {{ ref('dora_incidents') }} as counted on counted.issue_id = issues.id
    where issues.resolution_date is not null
    group by board_issues.board_id, month

)

select per_board.board_id, per_board.month, per_board.resolved, view_row.resolved_incidents
from per_board
left join {{ ref('dora_mttr_monthly_by_service') }} as view_row
    on view_row.board_id = per_board.board_id and view_row.month = per_board.month
where view_row.resolved_incidents is null or view_row.resolved_incidents <> per_board.resolved

union all

select null, overall.month, overall.resolved_incidents, sum(by_service.resolved_incidents)
from {{ ref('dora_mttr_monthly') }} as overall
left join {{ ref('dora_mttr_monthly_by_service') }} as by_service on by_service.month = overall.month
group by overall.month, overall.resolved_incidents
having sum(by_service.resolved_incidents) is null or sum(by_service.resolved_incidents) <> overall.resolved_incidents
