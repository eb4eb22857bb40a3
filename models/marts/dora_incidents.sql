{{ config(materialized='view') }}
{#- The incidents behind the DORA metrics: from `issues`, on their service's board, less those the
    vars dora_excluded_urgencies / dora_excluded_priorities leave out. -#}
select
    issues.id as issue_id,
    boards.id as board_id,
    {{ last_part('boards.id', ':') }} as service_id,
    boards.name as service_name,
    issues.urgency,
    issues.priority,
    issues.created_date,
    issues.resolution_date,
    issues.lead_time_minutes,
    {{ month_start('issues.resolution_date') }} as resolution_month

from {{ ref('issues') }} as issues
inner join {{ ref('board_issues') }} as board_issues
    on board_issues.issue_id = issues.id
inner join {{ ref('boards') }} as boards
    on boards.id = board_issues.board_id
where issues.type = 'INCIDENT'
    and {{ dora_incident_filter('issues.urgency', 'issues.priority') }}
