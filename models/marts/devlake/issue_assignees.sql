{#- DevLake's `issue_assignees`: everyone each covered incident was ever seen assigned to (its versions read
    while open, and the assign and escalate log entries read since), with their latest name. -#}
{{ config(
    materialized='incremental',
    pre_hook=[
        "{{ reset_load_window() }}",
        "{{ delete_changed_rows('issue_id', 'select issue_id from (' ~ changed_incidents() ~ ') as c') }}",
    ],
    table_keys=[['PRIMARY', ['issue_id', 'assignee_id']]],
    post_hook=["{{ ensure_table_keys(this) }}", "{{ save_load_window() }}"],
) }}

with assignments as (

    select
        covered.issue_id,
        assignments.assignee_id,
        assignments.assignee_name,
        row_number() over (
            partition by covered.issue_id, assignments.assignee_id
            order by assignments.assigned_at desc, assignments.ordinal desc
        ) as recency
    from ({{ incident_assignments(changed_keys()) }}) as assignments
    inner join {{ ref('int_incidents_covered') }} as covered
        on covered.connection_id = assignments.connection_id and covered.incident_id = assignments.incident_id

)

select
    cast(issue_id as char(255)) as issue_id,
    cast(assignee_id as char(255)) as assignee_id,
    cast(assignee_name as char(255)) as assignee_name

from assignments
where recency = 1
