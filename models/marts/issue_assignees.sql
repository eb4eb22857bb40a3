{#- DevLake's `issue_assignees`: every current assignee of every incident. -#}
select distinct
    cast({{ concat_strings(["'pagerduty:Incident:'", 'connection_id', "':'", 'incident_number']) }} as char(255))
        as issue_id,
    cast(assignee_id as char(255)) as assignee_id,
    cast(assignee_name as char(255)) as assignee_name

from {{ ref('int_incident_assignments_unnested') }}
