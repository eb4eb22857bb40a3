{#- Recompute dora_mttr_monthly from `issues` by another route: the lower median m of n values is the one
    with fewer than k = floor((n-1)/2)+1 values below it and at least k at or below it. Returns the months
    where the view disagrees, or that one side lacks. -#}
with counted as (

    select
        {{ month_start('issues.resolution_date') }} as month,
        issues.lead_time_minutes as minutes
    from {{ ref('issues') }} as issues
    inner join {{ ref('board_issues') }} as board_issues on board_issues.issue_id = issues.id
    where issues.type = 'INCIDENT'
        and issues.resolution_date is not null
        and issues.lead_time_minutes is not null
        and {{ dora_incident_filter('issues.urgency', 'issues.priority') }}

),

checked as (

    select
        view_row.month,
        view_row.resolved_incidents,
        count(*) as n,
        sum(case when counted.minutes < view_row.mttr_minutes then 1 else 0 end) as below,
        sum(case when counted.minutes <= view_row.mttr_minutes then 1 else 0 end) as at_or_below
    from {{ ref('dora_mttr_monthly') }} as view_row
    inner join counted on counted.month = view_row.month
    group by view_row.month, view_row.resolved_incidents

)

select month, 'median or count differs' as problem
from checked
where resolved_incidents <> n
    or below >= floor((n - 1) / 2) + 1
    or at_or_below < floor((n - 1) / 2) + 1

union all

select counted.month, 'month missing from the view' as problem
from counted
left join {{ ref('dora_mttr_monthly') }} as view_row on view_row.month = counted.month
where view_row.month is null
group by counted.month
