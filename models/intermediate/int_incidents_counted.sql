{#- The covered incidents the DORA metrics count: less those the vars dora_excluded_urgencies,
    dora_excluded_priorities leave out, and less incidents merged into another unless var
    dora_count_merged_incidents is true. lead_time_seconds is exact (the metric views round only where a
    number is shown); lead_time_minutes is DevLake's, truncated. -#}
select
    issue_id,
    board_id,
    connection_id,
    service_id,
    service_name,
    urgency,
    priority_name,
    is_merged,
    created_at,
    resolution_date,
    lead_time_minutes,
    case
        when {{ seconds_between('created_at', 'resolution_date') }} >= 0
            then {{ seconds_between('created_at', 'resolution_date') }}
    end as lead_time_seconds,
    resolution_month

from {{ ref('int_incidents_covered') }} as int_incidents_covered
where board_id is not null
    and {{ dora_incident_filter('urgency', 'priority_name', 'is_merged') }}
