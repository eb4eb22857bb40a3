{#- Every notify log entry (a user paged on one channel) with the notified user's local time and the hours
    it interrupted (macros/response/interruption_hours.sql). Local time is UTC plus the offset the user's
    zone had at that instant (time_zone_offsets, written by the loader: the servers' own time zone tables are
    not relied on). A user the account no longer lists, or whose zone is unknown, is judged in UTC
    (`zone_known` = 0). A table, keyed by incident: the response facts and the weekly view both read it, and
    working out each local time once is what costs. Incremental: a rerun rebuilds the notifications of the
    incidents changed in the loads since its last build, and of every incident that paged a user whose zone or
    name changed (macros/incremental/changed_responses.sql). -#}
{{ config(
    materialized='incremental',
    pre_hook=changed_responses_pre_hooks(),
    table_keys=[['ix_notifications_incident', ['connection_id', 'incident_id', 'user_id']]],
    post_hook=changed_responses_post_hooks(),
) }}
with notifications as (

    select
        stg_pagerduty__log_entries.connection_id,
        stg_pagerduty__log_entries.incident_id,
        log_entry_id,
        created_at as notified_at,
        notified_user_id as user_id,
        channel_type
    from {{ ref('stg_pagerduty__log_entries') }} as stg_pagerduty__log_entries
    {{ join_changed_responses('stg_pagerduty__log_entries') }}
    where entry_type = 'notify_log_entry' and notified_user_id is not null
        and stg_pagerduty__log_entries.incident_id is not null

),

users as (

    select * from {{ ref('stg_pagerduty__users') }} as stg_pagerduty__users

),

zoned as (

    select
        notifications.*,
        users.user_name,
        users.time_zone,
        (
            {#- the span the instant falls in: the latest that began at or before it (one probe of the
                offsets' key per notification, where a range join ranked every span for each) -#}
            select offsets.utc_offset_seconds
            from {{ ref('stg_pagerduty__time_zone_offsets') }} as offsets
            where offsets.connection_id = notifications.connection_id
                and offsets.time_zone = users.time_zone
                and offsets.valid_from <= notifications.notified_at
            order by offsets.valid_from desc
            limit 1
        ) as utc_offset_seconds
    from notifications
    left join users
        on users.connection_id = notifications.connection_id and users.user_id = notifications.user_id

),

localized as (

    select
        zoned.connection_id,
        zoned.incident_id,
        zoned.log_entry_id,
        zoned.notified_at,
        zoned.user_id,
        zoned.channel_type,
        zoned.user_name,
        zoned.time_zone,
        case when zoned.utc_offset_seconds is null then 0 else 1 end as zone_known,
        date_add(zoned.notified_at, interval coalesce(zoned.utc_offset_seconds, 0) second) as local_at
    from zoned

)

select
    localized.*,
    {{ interruption_hours('local_at') }} as interruption_hours,
    cast(date_sub(date(local_at), interval weekday(local_at) day) as date) as local_week

from localized
