{#- Every notify log entry (a user paged on one channel) with the notified user's local time and the hours
    it interrupted (macros/response/interruption_hours.sql). Local time is UTC plus the offset the user's
    zone had at that instant (time_zone_offsets, written by the loader: the servers' own time zone tables are
    not relied on). A user the account no longer lists, or whose zone is unknown, is judged in UTC
    (`zone_known` = 0). -#}
with notifications as (

    select
        connection_id,
        incident_id,
        log_entry_id,
        created_at as notified_at,
        notified_user_id as user_id,
        channel_type
    from {{ ref('stg_pagerduty__log_entries') }}
    where entry_type = 'notify_log_entry' and notified_user_id is not null

),

users as (

    select * from {{ ref('stg_pagerduty__users') }}

),

offsets as (

    select * from {{ ref('stg_pagerduty__time_zone_offsets') }}

),

localized as (

    select
        notifications.*,
        users.user_name,
        users.time_zone,
        case when offsets.utc_offset_seconds is null then 0 else 1 end as zone_known,
        date_add(
            notifications.notified_at, interval coalesce(offsets.utc_offset_seconds, 0) second
        ) as local_at
    from notifications
    left join users
        on users.connection_id = notifications.connection_id and users.user_id = notifications.user_id
    left join offsets
        on offsets.connection_id = notifications.connection_id
        and offsets.time_zone = users.time_zone
        and notifications.notified_at >= offsets.valid_from
        and notifications.notified_at < offsets.valid_until

)

select
    localized.*,
    {{ interruption_hours('local_at') }} as interruption_hours,
    cast(date_sub(date(local_at), interval weekday(local_at) day) as date) as local_week

from localized
