{#- One row per current assignment of each incident, from the JSON array the loader keeps. -#}
with incidents as (

    select connection_id, incident_id, incident_number, assignments, committed_at
    from {{ ref('int_incidents_committed') }}

)

select
    incidents.connection_id,
    incidents.incident_id,
    incidents.incident_number,
    assignment.ordinal,
    {{ iso_utc_to_datetime('assignment.assigned_at') }} as assigned_at,
    assignment.assignee_id,
    assignment.assignee_name,
    incidents.committed_at

from incidents
cross join {{ json_array_rows('incidents.assignments', [
    ('assigned_at', 'varchar(40)', '$.at'),
    ('assignee_id', 'varchar(64)', '$.assignee.id'),
    ('assignee_name', 'varchar(255)', '$.assignee.summary'),
], 'assignment') }}
