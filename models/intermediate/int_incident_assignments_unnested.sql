{#- Every assignment the lake has seen: from each version of each incident read while it was open
    (PagerDuty empties `assignments` on resolution), and from the assign and escalate log entries a rerun
    read. One row per incident, assignee and moment. -#}
with from_versions as (

    select
        versions.connection_id,
        versions.incident_id,
        assignment.assigned_at,
        assignment.ordinal,
        assignment.assignee_id,
        assignment.assignee_name
    from {{ ref('int_incident_versions_committed') }} as versions
    cross join {{ json_array_rows('versions.assignments', [
        ('assigned_at', 'datetime(6)', '$.at'),
        ('assignee_id', 'varchar(64)', '$.assignee_id'),
        ('assignee_name', 'varchar(255)', '$.assignee_name'),
    ], 'assignment') }}

),

from_log_entries as (

    select
        entries.connection_id,
        entries.incident_id,
        entries.created_at as assigned_at,
        assignee.ordinal,
        assignee.assignee_id,
        assignee.assignee_name
    from {{ ref('stg_pagerduty__log_entries') }} as entries
    cross join {{ json_array_rows('entries.assignees', [
        ('assignee_id', 'varchar(64)', '$.id'),
        ('assignee_name', 'varchar(255)', '$.name'),
    ], 'assignee') }}
    where entries.entry_type in ('assign_log_entry', 'escalate_log_entry')

),

unioned as (

    select * from from_versions
    union
    select * from from_log_entries

)

select distinct connection_id, incident_id, assigned_at, ordinal, assignee_id, assignee_name
from unioned
where assignee_id is not null
