{#- One row per covered incident: how it was responded to, from its log entries (once resolved, an incident
    forgets who was paged and who acknowledged; the entries remember). Names and definitions are PagerDuty
    Analytics' (AnalyticsRawIncident) wherever it defines them; _response__models.yml says where ours
    differ. An incident whose entries the lake lacks (created before HISTORY_SINCE) has log_entries = 0 and
    null or zero facts. A table keyed for the views that join it by incident and read it by board and month.
    Incremental, as int_notifications_localized: a rerun rebuilds the rows of the incidents changed since its
    last build (macros/incremental/changed_responses.sql). -#}
{{ config(
    materialized='incremental',
    pre_hook=changed_responses_pre_hooks(),
    table_keys=[
        ['PRIMARY', ['issue_id']],
        ['ix_responses_incident', ['connection_id', 'incident_id']],
        ['ix_responses_board_month', ['board_id', 'created_month']],
        ['ix_responses_month', ['created_month']],
    ],
    post_hook=changed_responses_post_hooks(),
) }}

with incidents as (

    select int_incidents_covered.*
    from {{ ref('int_incidents_covered') }} as int_incidents_covered
    {{ join_changed_responses('int_incidents_covered') }}

),

entries as (

    select stg_pagerduty__log_entries.*
    from {{ ref('stg_pagerduty__log_entries') }} as stg_pagerduty__log_entries
    {{ join_changed_responses('stg_pagerduty__log_entries') }}

),

user_acks as (

    select connection_id, incident_id, agent_id as user_id, min(created_at) as first_ack_at
    from entries
    where entry_type = 'acknowledge_log_entry'
    group by connection_id, incident_id, agent_id

),

acks as (

    select
        user_acks.connection_id,
        user_acks.incident_id,
        min(user_acks.first_ack_at) as first_ack_at,
        max(user_acks.first_ack_at) as last_engaged_at,
        count(*) as engaged_user_count,
        sum(case
            when incidents.resolution_date >= user_acks.first_ack_at
                then {{ seconds_between('user_acks.first_ack_at', 'incidents.resolution_date') }}
            when incidents.resolution_date is not null then 0
        end) as engaged_seconds
    from user_acks
    inner join incidents
        on incidents.connection_id = user_acks.connection_id and incidents.incident_id = user_acks.incident_id
    group by user_acks.connection_id, user_acks.incident_id

),

counts as (

    select
        connection_id,
        incident_id,
        count(*) as log_entries,
        sum(case when entry_type = 'escalate_log_entry' then 1 else 0 end) as escalation_count,
        sum(case when entry_type = 'escalate_log_entry' and channel_type = 'timeout' then 1 else 0 end)
            as timeout_escalation_count,
        sum(case
            when entry_type = 'escalate_log_entry' and coalesce(channel_type, '') <> 'timeout' then 1 else 0
        end) as manual_escalation_count,
        sum(case
            when entry_type = 'assign_log_entry' and agent_type like 'user%' then 1
            when entry_type = 'delegate_log_entry' then 1
            else 0
        end) as reassignment_count,
        sum(case when entry_type = 'notify_log_entry' then 1 else 0 end) as total_notifications,
        sum(case when entry_type = 'trigger_log_entry' then 1 else 0 end) as triggers
    from entries
    group by connection_id, incident_id

),

snoozes as (

    select
        connection_id,
        incident_id,
        sum({{ seconds_between('created_at', 'ended_at') }}) as snoozed_seconds
    from (
        select
            connection_id,
            incident_id,
            entry_type,
            created_at,
            lead(created_at) over (
                partition by connection_id, incident_id order by created_at, log_entry_id
            ) as ended_at
        from entries
        where entry_type in ('snooze_log_entry', 'unacknowledge_log_entry', 'resolve_log_entry')
    ) as marks
    where entry_type = 'snooze_log_entry' and ended_at is not null
    group by connection_id, incident_id

),

first_pages as (

    select
        int_notifications_localized.connection_id,
        int_notifications_localized.incident_id,
        int_notifications_localized.interruption_hours,
        row_number() over (
            partition by
                int_notifications_localized.connection_id,
                int_notifications_localized.incident_id,
                int_notifications_localized.user_id
            order by int_notifications_localized.notified_at, int_notifications_localized.log_entry_id
        ) as page_of_user
    from {{ ref('int_notifications_localized') }} as int_notifications_localized
    {{ join_changed_responses('int_notifications_localized') }}

),

interruptions as (

    select
        connection_id,
        incident_id,
        sum(case when interruption_hours = 'business' then 1 else 0 end) as business_hour_interruptions,
        sum(case when interruption_hours = 'off' then 1 else 0 end) as off_hour_interruptions,
        sum(case when interruption_hours = 'sleep' then 1 else 0 end) as sleep_hour_interruptions,
        count(*) as total_interruptions
    from first_pages
    where page_of_user = 1
    group by connection_id, incident_id

),

last_resolves as (

    select connection_id, incident_id, agent_type
    from (
        select
            connection_id,
            incident_id,
            agent_type,
            row_number() over (
                partition by connection_id, incident_id order by created_at desc, log_entry_id desc
            ) as recency
        from entries
        where entry_type = 'resolve_log_entry'
    ) as ranked
    where recency = 1

)

select
    incidents.issue_id,
    incidents.board_id,
    incidents.connection_id,
    incidents.incident_id,
    incidents.incident_number,
    incidents.service_id,
    incidents.service_name,
    incidents.urgency,
    incidents.priority_name,
    incidents.status,
    incidents.is_merged,
    incidents.created_at,
    {{ month_start('incidents.created_at') }} as created_month,
    incidents.resolution_date,
    case
        when incidents.resolution_date >= incidents.created_at
            then {{ seconds_between('incidents.created_at', 'incidents.resolution_date') }}
    end as seconds_to_resolve,
    cast(coalesce(counts.log_entries, 0) as signed) as log_entries,
    case
        when acks.first_ack_at >= incidents.created_at
            then {{ seconds_between('incidents.created_at', 'acks.first_ack_at') }}
        when acks.first_ack_at is not null then 0
    end as seconds_to_first_ack,
    case
        when acks.engaged_user_count > 1
            then greatest({{ seconds_between('incidents.created_at', 'acks.last_engaged_at') }}, 0)
    end as seconds_to_mobilize,
    case
        when acks.engaged_user_count > 1
            then {{ seconds_between('acks.first_ack_at', 'acks.last_engaged_at') }}
    end as seconds_to_engage,
    cast(acks.engaged_seconds as signed) as engaged_seconds,
    cast(coalesce(snoozes.snoozed_seconds, 0) as signed) as snoozed_seconds,
    cast(coalesce(counts.escalation_count, 0) as signed) as escalation_count,
    cast(coalesce(counts.timeout_escalation_count, 0) as signed) as timeout_escalation_count,
    cast(coalesce(counts.manual_escalation_count, 0) as signed) as manual_escalation_count,
    cast(coalesce(counts.reassignment_count, 0) as signed) as reassignment_count,
    cast(coalesce(acks.engaged_user_count, 0) as signed) as engaged_user_count,
    cast(coalesce(counts.total_notifications, 0) as signed) as total_notifications,
    cast(coalesce(interruptions.business_hour_interruptions, 0) as signed) as business_hour_interruptions,
    cast(coalesce(interruptions.off_hour_interruptions, 0) as signed) as off_hour_interruptions,
    cast(coalesce(interruptions.sleep_hour_interruptions, 0) as signed) as sleep_hour_interruptions,
    cast(coalesce(interruptions.total_interruptions, 0) as signed) as total_interruptions,
    case
        when incidents.status <> 'resolved' or last_resolves.agent_type is null then null
        when last_resolves.agent_type like 'user%' then 0
        else 1
    end as auto_resolved,
    cast(greatest(coalesce(counts.triggers, 0) - 1, 0) as signed) as reopen_count

from incidents
left join acks on acks.connection_id = incidents.connection_id and acks.incident_id = incidents.incident_id
left join counts
    on counts.connection_id = incidents.connection_id and counts.incident_id = incidents.incident_id
left join snoozes
    on snoozes.connection_id = incidents.connection_id and snoozes.incident_id = incidents.incident_id
left join interruptions
    on interruptions.connection_id = incidents.connection_id
    and interruptions.incident_id = incidents.incident_id
left join last_resolves
    on last_resolves.connection_id = incidents.connection_id
    and last_resolves.incident_id = incidents.incident_id
