{#- DevLake's `incident_assignees`: the `issue_assignees` of each row of `incidents`, as DevLake's dora plugin
    copies them. -#}
{{ config(post_hook="{{ ensure_primary_key(this, ['incident_id', 'assignee_id']) }}") }}

select
    assignees.issue_id as incident_id,
    assignees.assignee_id,
    assignees.assignee_name,
    incidents.created_at,
    incidents.updated_at

from {{ ref('issue_assignees') }} as assignees
inner join {{ ref('incidents') }} as incidents on incidents.id = assignees.issue_id
