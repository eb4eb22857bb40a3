{#- The incidents changed in this model's load window: a new current version, or new log entries. Their
    rows are deleted and rebuilt (delete_changed_rows), so an incident that left every scope leaves too. -#}
{% macro changed_incidents(fingerprint_vars=[]) -%}
    select incidents.connection_id, incidents.incident_id, incidents.issue_id
    from (
        select connection_id, id as incident_id, {{ devlake_id('Incident', 'connection_id', 'incident_number') }} as issue_id
        from {{ source('pagerduty', 'incidents') }}
    ) as incidents
    inner join (
        select connection_id, id as incident_id
        from {{ source('pagerduty', 'incidents') }}
        where {{ in_load_window('load_seq', fingerprint_vars) }}
        union
        select connection_id, incident_id
        from {{ source('pagerduty', 'log_entries') }}
        where {{ in_load_window('load_seq', fingerprint_vars) }} and incident_id is not null
    ) as changed
        on changed.connection_id = incidents.connection_id and changed.incident_id = incidents.incident_id
{%- endmacro %}
