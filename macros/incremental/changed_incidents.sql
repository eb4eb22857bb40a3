{#- The incidents changed in this model's load window: a new current version, new log entries, a priority or
    service renamed in the account's lists (every incident carrying it shows the new name, int_incidents_named),
    or removed by a reconcile (PagerDuty no longer has them). Their rows are deleted and rebuilt
    (delete_changed_rows), so an incident that left every scope, or PagerDuty, leaves too. -#}
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
        from {{ source('pagerduty', 'incidents') }} as incidents
        where {{ in_load_window('load_seq', fingerprint_vars) }}
        union
        select connection_id, incident_id
        from {{ source('pagerduty', 'log_entries') }} as log_entries
        where {{ in_load_window('load_seq', fingerprint_vars) }} and incident_id is not null
        union
        select carrying.connection_id, carrying.id
        from {{ source('pagerduty', 'incidents') }} as carrying
        inner join ({{ renamed_in_load_window('priorities', fingerprint_vars) }}) as renamed
            on renamed.connection_id = carrying.connection_id and renamed.id = carrying.priority_id
        union
        select carrying.connection_id, carrying.id
        from {{ source('pagerduty', 'incidents') }} as carrying
        inner join ({{ renamed_in_load_window('services', fingerprint_vars) }}) as renamed
            on renamed.connection_id = carrying.connection_id and renamed.id = carrying.service_id
    ) as changed
        on changed.connection_id = incidents.connection_id and changed.incident_id = incidents.id
    union
    select
        deleted.connection_id,
        deleted.id as incident_id,
        {{ devlake_id('Incident', 'deleted.connection_id', 'deleted.incident_number') }} as issue_id
    from {{ source('pagerduty', 'incidents_deleted') }} as deleted
    where {{ in_load_window('deleted.load_seq', fingerprint_vars) }}
{%- endmacro %}

{#- The priorities (or services) whose name a load in the window changed: a version written by a load in the
    window whose name differs from the version of the same object before it (a load writes a version only when
    the object changed, and a service changes for reasons other than its name). A new one counts as renamed. -#}
{% macro renamed_in_load_window(entity, fingerprint_vars=[]) -%}
    select distinct version.connection_id, version.id
    from {{ source('pagerduty', entity ~ '_versions') }} as version
    inner join {{ source('pagerduty', 'loads') }} as load_done
        on load_done.load_id = version.load_id and load_done.status = 'completed'
    where {{ in_load_window('load_done.seq', fingerprint_vars) }}
        and not (version.name <=> (
            select earlier.name
            from {{ source('pagerduty', entity ~ '_versions') }} as earlier
            inner join {{ source('pagerduty', 'loads') }} as earlier_load
                on earlier_load.load_id = earlier.load_id and earlier_load.status = 'completed'
            where earlier.connection_id = version.connection_id and earlier.id = version.id
                and earlier.version_id < version.version_id
            order by earlier.version_id desc
            limit 1
        ))
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
