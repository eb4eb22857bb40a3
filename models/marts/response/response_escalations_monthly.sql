{#- Escalations per calendar month (UTC) of creation, over the counted incidents: how many escalated at least
    once, the share (0 to 1, exact), and the escalations by the policy's timeout (nobody acknowledged in
    time) and by hand. -#}
with monthly as (

    select
        created_month,
        count(*) as incidents,
        sum(case when escalation_count > 0 then 1 else 0 end) as escalated_incidents,
        sum(case when timeout_escalation_count > 0 then 1 else 0 end) as timeout_escalated_incidents,
        sum(escalation_count) as escalations,
        sum(timeout_escalation_count) as timeout_escalations,
        sum(manual_escalation_count) as manual_escalations
    from {{ ref('response_incidents') }} as response_incidents
    where {{ dora_incident_filter('urgency', 'priority_name', 'is_merged') }}
    group by created_month

)

select
    created_month as month,
    incidents,
    cast(escalated_incidents as signed) as escalated_incidents,
    escalated_incidents * 1e0 / incidents as escalated_rate,
    cast(timeout_escalated_incidents as signed) as timeout_escalated_incidents,
    cast(escalations as signed) as escalations,
    cast(timeout_escalations as signed) as timeout_escalations,
    cast(manual_escalations as signed) as manual_escalations

from monthly
