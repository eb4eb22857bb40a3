{#- The incidents whose response facts the load window changed, as (connection_id, incident_id) pairs: the
    incidents changed_incidents() names, and the incidents that paged a user whose row a load in the window
    wrote (a new time zone or name), or whose zone's offsets it wrote (a new tz database). The second part is
    written into the SQL only when such a user or zone exists: it reads every notify entry, and most loads
    change no user. None (read every incident) when the model is being rebuilt. -#}
{% macro changed_response_keys() -%}
    {%- if load_window_rebuilds() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set parts = ['select connection_id, incident_id from (' ~ changed_incidents() ~ ') as changed_incidents'] -%}
    {%- set users_changed = load_window_number(
        "select count(*) from " ~ source('pagerduty', 'users') ~ " where " ~ in_load_window('load_seq')
    ) -%}
    {%- set zones_changed = load_window_number(
        "select count(*) from " ~ source('pagerduty', 'time_zone_offsets') ~ " where " ~ in_load_window('load_seq')
    ) -%}
    {%- if users_changed or zones_changed -%}
        {%- do parts.append(
            "select paged.connection_id, paged.incident_id from " ~ source('pagerduty', 'log_entries')
            ~ " as paged inner join " ~ source('pagerduty', 'users') ~ " as users"
            ~ " on users.connection_id = paged.connection_id and users.id = paged.user_id"
            ~ " where paged.type = 'notify_log_entry' and paged.incident_id is not null and ("
            ~ in_load_window('users.load_seq') ~ " or users.time_zone in (select offsets.time_zone from "
            ~ source('pagerduty', 'time_zone_offsets') ~ " as offsets where offsets.connection_id"
            ~ " = users.connection_id and " ~ in_load_window('offsets.load_seq') ~ "))"
        ) -%}
    {%- endif -%}
    {{ return('select distinct connection_id, incident_id from (' ~ parts | join(' union ') ~ ') as changed_keys') }}
{%- endmacro %}

{#- In an incremental model's FROM clause: keep only the incidents changed_response_keys() names, joined on
    `alias`.connection_id and `alias`.incident_id; nothing when the model is being rebuilt. -#}
{% macro join_changed_responses(alias) -%}
    {%- set keys = changed_response_keys() -%}
    {%- if keys is not none -%}
    inner join ({{ keys }}) as changed
        on changed.connection_id = {{ alias }}.connection_id and changed.incident_id = {{ alias }}.incident_id
    {%- endif -%}
{%- endmacro %}

{#- pre-hook: the rows of every incident changed_response_keys() names go; the model inserts their new rows
    (none for an incident that left every scope, or PagerDuty). -#}
{% macro delete_changed_responses() -%}
    {%- set keys = changed_response_keys() -%}
    {%- if is_incremental() and keys is not none -%}
        delete {{ this }} from {{ this }}
        inner join ({{ keys }}) as changed
            on {{ this }}.connection_id = changed.connection_id and {{ this }}.incident_id = changed.incident_id
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
