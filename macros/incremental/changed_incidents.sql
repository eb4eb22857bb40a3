{#- The incidents changed in this model's load window: a new current version, or new log entries. Their
    rows are deleted and rebuilt (delete_changed_rows), so an incident that left every scope leaves too. -#}
{% macro changed_incidents(fingerprint_vars=[]) -%}
    {#- the raw table is joined directly, not through a derived table: inside a multi-table DELETE, MariaDB
        materializes a derived table whole, which here would copy every raw incident on every run -#}
    select
        incidents.connection_id,
        incidents.id as incident_id,
        {{ devlake_id('Incident', 'incidents.connection_id', 'incidents.incident_number') }} as issue_id
    from {{ source('pagerduty', 'incidents') }} as incidents
    inner join (
        select connection_id, id as incident_id
        from {{ source('pagerduty', 'incidents') }}
        where {{ in_load_window('load_seq', fingerprint_vars) }}
        union
        select connection_id, incident_id
        from {{ source('pagerduty', 'log_entries') }}
        where {{ in_load_window('load_seq', fingerprint_vars) }} and incident_id is not null
    ) as changed
        on changed.connection_id = incidents.connection_id and changed.incident_id = incidents.id
{%- endmacro %}

{#- In an incremental model's FROM clause: keep only the incidents changed in the load window, joined on
    `alias`.`id_column`. Nothing when the model is being rebuilt, where every incident is read anyway and a join
    with every incident's id would only cost time. -#}
{% macro join_changed(alias, fingerprint_vars=[], id_column='issue_id') -%}
    {%- if not load_window_rebuilds(fingerprint_vars) -%}
    inner join (
        select distinct issue_id from ({{ changed_incidents(fingerprint_vars) }}) as changed_in_window
    ) as changed on changed.issue_id = {{ alias }}.{{ id_column }}
    {%- endif -%}
{%- endmacro %}

{#- For filters that want (connection_id, incident_id) pairs: those changed in the load window, or none (read
    every incident) when the model is being rebuilt. -#}
{% macro changed_keys(fingerprint_vars=[]) -%}
    {%- if load_window_rebuilds(fingerprint_vars) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return('select distinct connection_id, incident_id from (' ~ changed_incidents(fingerprint_vars) ~ ') as changed_in_window') }}
{%- endmacro %}
