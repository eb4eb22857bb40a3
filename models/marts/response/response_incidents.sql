{#- The per-incident response facts people read: every covered incident on its service's board, less those
    the vars dora_excluded_urgencies and dora_excluded_priorities leave out, as the DORA views. Incidents
    merged into another keep their facts, flagged by is_merged; the monthly views leave them out unless var
    dora_count_merged_incidents is true, as the DORA views do. -#}
select *
from {{ ref('int_incident_responses') }} as int_incident_responses
where board_id is not null
    and {{ dora_incident_filter('urgency', 'priority_name', '0') }}
