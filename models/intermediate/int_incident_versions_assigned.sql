{#- The versions of incidents, written by completed loads, that name at least one assignee: the only ones
    assignments are unnested from. PagerDuty empties `assignments` once an incident is resolved, so they are
    few (3,482 of the 1,000,001 versions a first load of a million simulated incidents writes); a table,
    incremental by load, so that no build reads every version of every incident, JSON and all, from the raw
    versions table (2.7 GB at a million). -#}
{{ config(
    materialized='incremental',
    pre_hook=["{{ reset_load_window() }}"],
    table_keys=[['PRIMARY', ['version_id']], ['ix_versions_assigned_incident', ['connection_id', 'incident_id']]],
    post_hook=["{{ ensure_table_keys(this) }}", "{{ save_load_window() }}"],
) }}
select versions.*, loads.load_seq
from {{ ref('stg_pagerduty__incident_versions') }} as versions
inner join {{ ref('stg_pagerduty__loads') }} as loads on loads.load_id = versions.load_id
where {{ in_load_window('loads.load_seq') }}
    and json_length(versions.assignments) > 0
