{#- DevLake's domain table `issues`, one row per PagerDuty incident a scope covers (type INCIDENT), with
    DevLake's column names and rules, except where DevLake is wrong: resolution_date is PagerDuty's
    resolved_at, and title is the incident's title. The assignee is the last one the lake has seen (PagerDuty
    forgets assignees once an incident is resolved). Incremental: a rerun rebuilds only the incidents changed
    in the loads completed since the previous build.
    Its keys serve the dashboards: DevLake's and ours filter on the creation time, list the open incidents and
    the slowest ones. Without them a panel over six months of a million incidents read every row (27 s on
    MariaDB's defaults, BENCHMARKS.md). -#}
{{ config(
    materialized='incremental',
    pre_hook=[
        "{{ reset_load_window() }}",
        "{{ delete_changed_rows('id', 'select issue_id as id from (' ~ changed_incidents() ~ ') as c') }}",
    ],
    table_keys=[
        ['PRIMARY', ['id']],
        ['ix_issues_created', ['created_date']],
        ['ix_issues_status', ['status']],
        ['ix_issues_lead_time', ['lead_time_minutes']],
    ],
    post_hook=["{{ ensure_table_keys(this) }}", "{{ save_load_window() }}"],
) }}

with incidents as (

    select covered.*
    from {{ ref('int_incidents_covered') }} as covered
    {{ join_changed('covered') }}

),

latest_assignment as (

    select connection_id, incident_id, assignee_id, assignee_name
    from (
        select
            assignments.connection_id,
            assignments.incident_id,
            assignments.assignee_id,
            assignments.assignee_name,
            row_number() over (
                partition by assignments.connection_id, assignments.incident_id
                order by assignments.assigned_at desc, assignments.ordinal desc, assignments.assignee_id desc
            ) as recency
        from ({{ incident_assignments(changed_keys()) }}) as assignments
    ) as ranked
    where recency = 1

),

loads as (

    select * from {{ ref('stg_pagerduty__loads') }} as stg_pagerduty__loads

)

select
    incident.issue_id as id,
    cast(incident.html_url as char(255)) as url,
    cast(null as char(255)) as icon_url,
    cast(incident.incident_number as char(255)) as issue_key,
    incident.title,
    incident.summary as description,
    cast(null as char(255)) as epic_key,
    cast('INCIDENT' as char(100)) as type,
    cast('INCIDENT' as char(100)) as original_type,
    cast(case incident.status
        when 'triggered' then 'TODO'
        when 'acknowledged' then 'IN_PROGRESS'
        when 'resolved' then 'DONE'
        else 'OTHER'
    end as char(100)) as status,
    cast(incident.status as char(100)) as original_status,
    cast(null as double) as story_point,
    incident.resolution_date,
    incident.created_at as created_date,
    incident.updated_at as updated_date,
    cast(incident.lead_time_minutes as unsigned) as lead_time_minutes,
    cast(null as signed) as original_estimate_minutes,
    cast(null as signed) as time_spent_minutes,
    cast(null as signed) as time_remaining_minutes,
    cast(null as char(255)) as creator_id,
    cast(null as char(255)) as creator_name,
    cast(latest_assignment.assignee_id as char(255)) as assignee_id,
    cast(latest_assignment.assignee_name as char(255)) as assignee_name,
    cast(null as char(255)) as parent_issue_id,
    cast(incident.priority_name as char(255)) as priority,
    cast(null as char(255)) as severity,
    cast(incident.urgency as char(255)) as urgency,
    cast(null as char(255)) as component,
    cast(null as char(255)) as original_project,
    false as is_subtask,
    cast(null as datetime) as due_date,
    cast(null as char(255)) as fix_versions,
    loads.completed_at as created_at,
    loads.completed_at as updated_at,
    cast({{ concat_strings(["'{\"ConnectionId\":'", 'incident.connection_id', "'}'"]) }} as char(255))
        as _raw_data_params,
    cast('{{ source("pagerduty", "incidents").identifier }}' as char(255)) as _raw_data_table,
    cast(null as unsigned) as _raw_data_id,
    cast(null as char(255)) as _raw_data_remark

from incidents as incident
inner join loads on loads.load_seq = incident.load_seq
left join latest_assignment
    on latest_assignment.connection_id = incident.connection_id
    and latest_assignment.incident_id = incident.incident_id
