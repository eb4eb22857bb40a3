{{ config(tags=['heavy']) }}
{#- dora_mttr_monthly recomputed from DevLake's tables by another route: months from date parts, the
    exclusion vars applied by hand, merged incidents found in the raw table, and the lower median m of n
    values found by counting (fewer than k = floor((n-1)/2)+1 values below m, at least k at or below it).
    Returns the months where the view disagrees, or that one side lacks. -#}
{%- set urgencies = var('dora_excluded_urgencies', []) -%}
{%- set priorities = var('dora_excluded_priorities', []) -%}
with counted as (

    select
        cast(concat(year(issues.resolution_date), '-', lpad(month(issues.resolution_date), 2, '0'), '-01') as date)
            as month,
        issues.lead_time_minutes as minutes
    from {{ ref('issues') }} as issues
    inner join {{ ref('board_issues') }} as board_issues on board_issues.issue_id = issues.id
    inner join {{ source('pagerduty', 'incidents') }} as raw_incident
        on issues.id = concat('pagerduty:Incident:', raw_incident.connection_id, ':', raw_incident.incident_number)
    where issues.type = 'INCIDENT'
        and issues.resolution_date is not null
        and issues.lead_time_minutes is not null
        {%- for u in urgencies %}
        and coalesce(issues.urgency, '') <> {{ sql_string(u) }}
        {%- endfor %}
        {%- for p in priorities %}
        and coalesce(issues.priority, '') <> {{ sql_string(p) }}
        {%- endfor %}
        {%- if not var('dora_count_merged_incidents', false) %}
        and coalesce(raw_incident.resolve_reason_type, '') <> 'merge_resolve_reason'
        {%- endif %}

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
