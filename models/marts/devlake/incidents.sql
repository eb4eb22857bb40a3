{#- DevLake's `incidents`, which its DORA dashboards read: DevLake's dora plugin copies each incident issue
    into it, on the board of its service (`table` = 'boards', `scope_id` = the board id). Here it holds the
    incidents the DORA metrics count (int_incidents_counted: the vars that leave urgencies, priorities or
    merged incidents out apply), read from `issues`, so the dashboards' numbers are those of the dora_*
    views. One row per incident, whatever number of projects its board is in.

    A view: a table would copy every issue once more (29 s of a first build of a million incidents, after
    `issues` and before anything else could finish); the dashboards' filters (board, creation time) reach the
    keys of `issues` and `int_incidents_covered` through it. -#}
{{ config(materialized='view') }}

select
    issues.id,
    issues.url,
    issues.issue_key as incident_key,
    issues.title,
    issues.description,
    issues.status,
    issues.original_status,
    issues.resolution_date,
    issues.created_date,
    issues.updated_date,
    issues.lead_time_minutes,
    issues.original_estimate_minutes,
    issues.time_spent_minutes,
    issues.time_remaining_minutes,
    issues.creator_id,
    issues.creator_name,
    issues.parent_issue_id as parent_incident_id,
    issues.priority,
    issues.severity,
    issues.urgency,
    issues.component,
    issues.original_project,
    cast('boards' as char(255)) as `table`,
    cast(counted.board_id as char(255)) as scope_id,
    issues.assignee_id,
    issues.assignee_name,
    issues.created_at,
    issues.updated_at,
    issues._raw_data_params,
    issues._raw_data_table,
    issues._raw_data_id,
    issues._raw_data_remark

from {{ ref('issues') }} as issues
inner join {{ ref('int_incidents_counted') }} as counted on counted.issue_id = issues.id
