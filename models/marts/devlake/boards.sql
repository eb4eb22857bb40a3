{#- DevLake's `boards`: one per PagerDuty service a scope covers. -#}
select
    board_id as id,
    cast(service_name as char(255)) as name,
    description,
    cast(html_url as char(255)) as url,
    created_at as created_date,
    cast('pagerduty' as char(100)) as type

from {{ ref('int_boards') }} as int_boards
