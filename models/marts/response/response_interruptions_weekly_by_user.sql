{#- Per responder and ISO week (Monday to Sunday, in the responder's own zone): the notifications they
    received and the incidents that interrupted them, by business, off and sleep hours in their zone
    (macros/response/interruption_hours.sql). An interruption is a user's first notification of an
    incident, counted once per user and incident, in the week of that first notification; the counted
    incidents only (the DORA views' filters). -#}
with notifications as (

    select
        notifications.*,
        row_number() over (
            partition by notifications.connection_id, notifications.incident_id, notifications.user_id
            order by notifications.notified_at, notifications.log_entry_id
        ) as page_of_user
    from {{ ref('int_notifications_localized') }} as notifications
    inner join {{ ref('response_incidents') }} as responses
        on responses.connection_id = notifications.connection_id
        and responses.incident_id = notifications.incident_id
    where {{ dora_incident_filter('responses.urgency', 'responses.priority_name', 'responses.is_merged') }}

)

select
    connection_id,
    cast(user_id as char(64)) as user_id,
    cast(max(user_name) as char(255)) as user_name,
    cast(max(time_zone) as char(64)) as time_zone,
    local_week as week_start,
    count(*) as notifications,
    cast(sum(case when page_of_user = 1 then 1 else 0 end) as signed) as interruptions,
    cast(sum(case when page_of_user = 1 and interruption_hours = 'business' then 1 else 0 end) as signed)
        as business_hour_interruptions,
    cast(sum(case when page_of_user = 1 and interruption_hours = 'off' then 1 else 0 end) as signed)
        as off_hour_interruptions,
    cast(sum(case when page_of_user = 1 and interruption_hours = 'sleep' then 1 else 0 end) as signed)
        as sleep_hour_interruptions

from notifications
group by connection_id, user_id, local_week
