{#- DevLake's domain table `issues`, one row per PagerDuty incident (type INCIDENT), with DevLake's column
    names and rules, except where DevLake is wrong: resolution_date is PagerDuty's resolved_at (falling
    back to last_status_change_at only when resolved_at is absent), and title is the incident's title.
    Incremental: a rerun reads only the raw rows of loads completed since the previous build. -#}
{{ config(
    materialized='incremental',
    unique_key='id',
    post_hook="{{ ensure_primary_key(this, ['id']) }}",
) }}

with incidents as (

    select * from {{ ref('int_incidents_committed') }}
    {% if is_incremental() %}
    where {{ committed_since_last_build() }}
    {% endif %}

),

latest_assignment as (

    select connection_id, incident_id, assignee_id, assignee_name
    from (
        select
            connection_id,
            incident_id,
            assignee_id,
            assignee_name,
            row_number() over (
                partition by connection_id, incident_id order by assigned_at desc, ordinal desc
            ) as recency
        from {{ ref('int_incident_assignments_unnested') }}
        {% if is_incremental() %}
        where {{ committed_since_last_build() }}
        {% endif %}
    ) as ranked
    where recency = 1

),

with_resolution as (

    select
        incidents.*,
        case
            when status = 'resolved' then coalesce(resolved_at, last_status_change_at)
        end as resolution_date
    from incidents

)

select
    cast({{ concat_strings(["'pagerduty:Incident:'", 'incident.connection_id', "':'", 'incident.incident_number']) }}
        as char(255)) as id,
    cast(incident.html_url as char(255)) as url,
    cast(null as char(255)) as icon_url,
    cast(incident.incident_number as char(255)) as issue_key,
    incident.title,
    incident.summary as description,
    cast(null as char(255)) as epic_key,
    cast('INCIDENT' as char(100)) as type,
    cast('INCIDENT' as char(100)) as original_type,
    cast(case incident.status
        when 'triggered' then 'TODO'
        when 'acknowledged' then 'IN_PROGRESS'
        when 'resolved' then 'DONE'
        else 'OTHER'
    end as char(100)) as status,
    cast(incident.status as char(100)) as original_status,
    cast(null as double) as story_point,
    incident.resolution_date,
    incident.created_at as created_date,
    incident.updated_at as updated_date,
    cast(case
        when {{ minutes_between('incident.created_at', 'incident.resolution_date') }} >= 0
            then {{ minutes_between('incident.created_at', 'incident.resolution_date') }}
    end as unsigned) as lead_time_minutes,
    cast(null as signed) as original_estimate_minutes,
    cast(null as signed) as time_spent_minutes,
    cast(null as signed) as time_remaining_minutes,
    cast(null as char(255)) as creator_id,
    cast(null as char(255)) as creator_name,
    cast(latest_assignment.assignee_id as char(255)) as assignee_id,
    cast(latest_assignment.assignee_name as char(255)) as assignee_name,
    cast(null as char(255)) as parent_issue_id,
    cast(incident.priority_name as char(255)) as priority,
    cast(null as char(255)) as severity,
    cast(incident.urgency as char(255)) as urgency,
    cast(null as char(255)) as component,
    cast(null as char(255)) as original_project,
    false as is_subtask,
    cast(null as datetime) as due_date,
    cast(null as char(255)) as fix_versions,
    incident.committed_at as created_at,
    incident.committed_at as updated_at,
    cast({{ concat_strings(["'{\"ConnectionId\":'", 'incident.connection_id', "'}'"]) }} as char(255))
        as _raw_data_params,
    cast('{{ source("pagerduty", "incidents").identifier }}' as char(255)) as _raw_data_table,
    cast(null as unsigned) as _raw_data_id,
    cast(null as char(255)) as _raw_data_remark

from with_resolution as incident
left join latest_assignment
    on latest_assignment.connection_id = incident.connection_id
    and latest_assignment.incident_id = incident.incident_id
