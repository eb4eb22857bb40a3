{#- Each incident with the names the account's own lists give it now, joined by id: a priority renamed in the
    account's scheme, or a service renamed, shows its new name on every incident after the next run, with no
    incident read again (PagerDuty writes no log entry for either, and the incident objects the lake holds
    keep the old name). An incident whose priority or service the lists lack (a deleted service) keeps the
    name it carried when it was read. The incremental models see such renames through
    macros/incremental/changed_incidents.sql. -#}
with incidents as (

    select * from {{ ref('stg_pagerduty__incidents') }} as stg_pagerduty__incidents

),

priorities as (

    select * from {{ ref('stg_pagerduty__priorities') }} as stg_pagerduty__priorities

),

services as (

    select * from {{ ref('stg_pagerduty__services') }} as stg_pagerduty__services

)

select
    incidents.connection_id,
    incidents.incident_id,
    incidents.incident_number,
    incidents.title,
    incidents.summary,
    incidents.status,
    incidents.urgency,
    incidents.priority_id,
    coalesce(priorities.priority_name, incidents.priority_name) as priority_name,
    incidents.service_id,
    coalesce(services.service_name, incidents.service_name) as service_name,
    incidents.html_url,
    incidents.created_at,
    incidents.updated_at,
    incidents.resolved_at,
    incidents.last_status_change_at,
    incidents.resolve_reason_type,
    incidents.merged_into_id,
    incidents.loaded_at,
    incidents.load_seq

from incidents
left join priorities
    on priorities.connection_id = incidents.connection_id and priorities.priority_id = incidents.priority_id
left join services
    on services.connection_id = incidents.connection_id and services.service_id = incidents.service_id
