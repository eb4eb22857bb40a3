{#- Every assignment the lake has seen (int_incident_assignments_unnested), for every incident or, given
    `changed` (SQL giving connection_id and incident_id), only for those: the filter sits inside each branch,
    before the JSON is unnested, because neither MariaDB nor MySQL pushes a join into a UNION. -#}
{% macro incident_assignments(changed=none) -%}
with from_versions as (

    select
        versions.connection_id,
        versions.incident_id,
        assignment.assigned_at,
        assignment.ordinal,
        assignment.assignee_id,
        assignment.assignee_name
    from {{ ref('int_incident_versions_assigned') }} as versions
    {%- if changed is not none %}
    inner join ({{ changed }}) as changed_versions
        on changed_versions.connection_id = versions.connection_id
        and changed_versions.incident_id = versions.incident_id
    {%- endif %}
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
    {%- if changed is not none %}
    inner join ({{ changed }}) as changed_entries
        on changed_entries.connection_id = entries.connection_id
        and changed_entries.incident_id = entries.incident_id
    {%- endif %}
    cross join {{ json_array_rows('entries.assignees', [
        ('assignee_id', 'varchar(64)', '$.id'),
        ('assignee_name', 'varchar(255)', '$.name'),
    ], 'assignee') }}
    where entries.entry_type in ('assign_log_entry', 'escalate_log_entry', 'delegate_log_entry')

),

unioned as (

    select * from from_versions
    union
    select * from from_log_entries

)

select distinct connection_id, incident_id, assigned_at, ordinal, assignee_id, assignee_name
from unioned
where assignee_id is not null
{%- endmacro %}
