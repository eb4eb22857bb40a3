{#- The incidents some blueprint's scope covers now (its connection, its service or all, created at or after
    its start date), with the facts every mart derives from them. resolution_date is PagerDuty's resolved_at
    (last_status_change_at only where resolved_at is absent, on incidents resolved before May 2023): DevLake
    takes last_status_change_at, which moves with edits after resolution.

    A table, incremental like `issues` (a rerun rebuilds only the incidents changed in its load window): every
    mart and metric reads it by its keys (issue id; board and creation time; connection and service; month of
    resolution, stored so that a metric view asked for recent months reads only theirs). -#}
{{ config(
    materialized='incremental',
    pre_hook=[
        "{{ ensure_column(this, 'resolution_month', 'date', month_start('resolution_date')) }}",
        "{{ reset_load_window() }}",
        "{{ delete_changed_rows('issue_id', 'select issue_id from (' ~ changed_incidents() ~ ') as c') }}",
    ],
    table_keys=[
        ['PRIMARY', ['issue_id']],
        ['ix_covered_board_created', ['board_id', 'created_at']],
        ['ix_covered_service', ['connection_id', 'service_id']],
        ['ix_covered_incident', ['connection_id', 'incident_id']],
        ['ix_covered_resolution_month', ['resolution_month']],
    ],
    post_hook=["{{ ensure_table_keys(this) }}", "{{ save_load_window() }}"],
) }}
with incidents as (

    select * from {{ ref('int_incidents_named') }} as int_incidents_named

),

scopes as (

    select * from {{ ref('stg_pagerduty__scopes') }} as stg_pagerduty__scopes

),

covered as (

    select incidents.*
    from incidents
    {%- if is_incremental() and not load_window_rebuilds() %}
    inner join (
        select distinct connection_id, incident_id from ({{ changed_incidents() }}) as changed_in_window
    ) as changed on changed.connection_id = incidents.connection_id and changed.incident_id = incidents.incident_id
    {%- endif %}
    where exists (
        select 1
        from scopes
        where scopes.connection_id = incidents.connection_id
            and (scopes.service_id = '*' or scopes.service_id = incidents.service_id)
            and incidents.created_at >= scopes.start_date
    )

),

resolved as (

    select
        covered.*,
        case when status = 'resolved' then coalesce(resolved_at, last_status_change_at) end as resolution_date
    from covered

)

select
    resolved.*,
    {{ devlake_id('Incident', 'connection_id', 'incident_number') }} as issue_id,
    case when service_id is not null then {{ devlake_id('Service', 'connection_id', 'service_id') }} end as board_id,
    case
        when {{ minutes_between('created_at', 'resolution_date') }} >= 0
            then {{ minutes_between('created_at', 'resolution_date') }}
    end as lead_time_minutes,
    case when status = 'resolved' and resolve_reason_type = 'merge_resolve_reason' then 1 else 0 end as is_merged,
    {{ month_start('resolution_date') }} as resolution_month

from resolved
