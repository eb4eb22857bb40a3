{#- DevLake's `board_issues`: each covered incident on the board of its service (an incident moved to another
    service moves board). A view over the covered incidents, whose keys (issue id; board and creation time)
    serve the dashboards' joins and filters: a table would copy a million rows on a first build. -#}
{{ config(materialized='view') }}

select
    covered.board_id,
    covered.issue_id,
    loads.completed_at as created_at,
    loads.completed_at as updated_at

from {{ ref('int_incidents_covered') }} as covered
inner join {{ ref('stg_pagerduty__loads') }} as loads on loads.load_seq = covered.load_seq
where covered.board_id is not null
