{#- DevLake's `incident_assignees`: the `issue_assignees` of each row of `incidents`, as DevLake's dora plugin
    copies them. Incremental like `issues`. -#}
{%- set counted_vars = ['dora_excluded_urgencies', 'dora_excluded_priorities', 'dora_count_merged_incidents'] %}
{{ config(
    materialized='incremental',
    pre_hook=[
        "{{ reset_load_window(" ~ tojson(counted_vars) ~ ") }}",
        "{{ delete_changed_rows('incident_id', 'select issue_id as incident_id from (' ~ changed_incidents("
            ~ tojson(counted_vars) ~ ") ~ ') as c', " ~ tojson(counted_vars) ~ ") }}",
    ],
    table_keys=[['PRIMARY', ['incident_id', 'assignee_id']]],
    post_hook=[
        "{{ ensure_table_keys(this) }}",
        "{{ save_load_window(" ~ tojson(counted_vars) ~ ") }}",
    ],
) }}

select
    assignees.issue_id as incident_id,
    assignees.assignee_id,
    assignees.assignee_name,
    incidents.created_at,
    incidents.updated_at

from {{ ref('issue_assignees') }} as assignees
inner join {{ ref('incidents') }} as incidents on incidents.id = assignees.issue_id
{{ join_changed('assignees', counted_vars) }}
