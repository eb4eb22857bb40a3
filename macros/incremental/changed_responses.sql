{#- The response models (int_notifications_localized, int_incident_responses) are incremental by load window,
    like `issues`, with one more reason for an incident to change: a user it paged whose row a load in the
    window wrote (a new time zone or name), or whose zone's offsets it wrote (a new tz database), changes the
    local hour of that page without any new entry.

    The changed incidents are worked out once per build, in pre-hooks, into a table of their own
    (`_pagerduty_changed_<model>`, beside the model in the staging schema): the pre-hook's DELETE and the
    model's SELECT then read the same keys, even when a load completes while the model builds (the raw `users`
    rows are current rows, which such a load may replace), and the key query, which may read every notify
    entry, runs once instead of once per use. The table is rewritten at the start of every build, so one left
    by a killed run changes nothing. -#}

{% macro changed_responses_table() -%}{{ this.schema }}._pagerduty_changed_{{ this.name }}{%- endmacro %}

{#- The (connection_id, incident_id) pairs changed in the load window: the incidents changed_incidents() names,
    the incidents of every log entry in the window (the account's log entries name incidents no scope covers
    too, which changed_incidents() leaves out, and whose pages the notifications keep), and the incidents that
    paged a user changed in the window. The user part is written into the SQL only when such a user or zone
    exists: it reads every notify entry, and most loads change no user. Its entries are bounded by the
    window's end, as every other part is. -#}
{% macro changed_response_keys() -%}
    {%- set parts = [
        'select connection_id, incident_id from (' ~ changed_incidents() ~ ') as changed_incidents',
        'select connection_id, incident_id from ' ~ source('pagerduty', 'log_entries') ~ ' as entries where '
            ~ in_load_window('entries.load_seq') ~ ' and entries.incident_id is not null',
    ] -%}
    {%- set users_changed = load_window_number(
        "select count(*) from " ~ source('pagerduty', 'users') ~ " where " ~ in_load_window('load_seq')
    ) -%}
    {%- set zones_changed = load_window_number(
        "select count(*) from " ~ source('pagerduty', 'time_zone_offsets') ~ " where " ~ in_load_window('load_seq')
    ) -%}
    {%- if users_changed or zones_changed -%}
        {%- set upto = load_window_number("select upto from " ~ build_table() ~ " where id = 1") -%}
        {%- do parts.append(
            "select paged.connection_id, paged.incident_id from " ~ source('pagerduty', 'log_entries')
            ~ " as paged inner join " ~ source('pagerduty', 'users') ~ " as users"
            ~ " on users.connection_id = paged.connection_id and users.id = paged.user_id"
            ~ " where paged.type = 'notify_log_entry' and paged.incident_id is not null"
            ~ " and paged.load_seq <= " ~ upto ~ " and ((" ~ in_load_window('users.load_seq') ~ ")"
            ~ " or users.time_zone in (select offsets.time_zone from "
            ~ source('pagerduty', 'time_zone_offsets') ~ " as offsets where offsets.connection_id"
            ~ " = users.connection_id and " ~ in_load_window('offsets.load_seq') ~ "))"
        ) -%}
    {%- endif -%}
    {{ return('select distinct connection_id, incident_id from (' ~ parts | join(' union ') ~ ') as changed_keys') }}
{%- endmacro %}

{#- The response models' hooks, the same for both. First the changed pairs of this build, into a new table
    (DDL commits, so it comes before any row is deleted; none when the model is rebuilt whole and reads every
    incident; the raw tables' own types and character set); then the load window's reset and the deletion of
    the changed pairs' rows. -#}
{% macro changed_responses_pre_hooks() -%}
    {{ return([
        "drop table if exists {{ changed_responses_table() }}",
        "{{ stage_changed_responses() }}",
        "{{ reset_load_window() }}",
        "{{ delete_changed_responses() }}",
    ]) }}
{%- endmacro %}

{% macro changed_responses_post_hooks() -%}
    {{ return(["{{ ensure_table_keys(this) }}", "{{ save_load_window() }}"]) }}
{%- endmacro %}

{% macro stage_changed_responses() -%}
    create table {{ changed_responses_table() }} (
        connection_id bigint not null,
        incident_id varchar(64) not null,
        primary key (connection_id, incident_id)
    ) character set utf8mb4
    {%- if is_incremental() and not load_window_rebuilds() %}
    {{ changed_response_keys() }}
    {%- endif -%}
{%- endmacro %}

{#- In an incremental model's FROM clause: keep only the changed pairs, joined on `alias`.connection_id and
    `alias`.incident_id; nothing when the model is being rebuilt. -#}
{% macro join_changed_responses(alias) -%}
    {%- if not load_window_rebuilds() -%}
    inner join {{ changed_responses_table() }} as changed
        on changed.connection_id = {{ alias }}.connection_id and changed.incident_id = {{ alias }}.incident_id
    {%- endif -%}
{%- endmacro %}

{#- pre-hook, after the staging: the rows of every changed pair go; the model inserts their new rows (none for
    an incident that left every scope, or PagerDuty). -#}
{% macro delete_changed_responses() -%}
    {%- if is_incremental() and not load_window_rebuilds() -%}
        delete {{ this }} from {{ this }}
        inner join {{ changed_responses_table() }} as changed
            on {{ this }}.connection_id = changed.connection_id and {{ this }}.incident_id = changed.incident_id
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
