{#- DevLake's `board_issues`: each incident on the board of its service. Incremental like `issues`; an
    incident moved to another service moves board. -#}
{{ config(
    materialized='incremental',
    unique_key='issue_id',
    post_hook="{{ ensure_primary_key(this, ['issue_id', 'board_id']) }}",
) }}

select
    cast({{ concat_strings(["'pagerduty:Service:'", 'connection_id', "':'", 'service_id']) }} as char(255))
        as board_id,
    cast({{ concat_strings(["'pagerduty:Incident:'", 'connection_id', "':'", 'incident_number']) }} as char(255))
        as issue_id,
    committed_at as updated_at

from {{ ref('int_incidents_committed') }}
where service_id is not null
{% if is_incremental() %}
    and {{ committed_since_last_build() }}
{% endif %}
