{{ config(tags=['heavy']) }}
{#- Every resolved incident has a resolution date and a non-negative lead time: a resolution before
    creation would otherwise vanish from the metrics quietly. -#}
select id, created_date, resolution_date, lead_time_minutes
from {{ ref('issues') }} as issues
where original_status = 'resolved'
    and (resolution_date is null or lead_time_minutes is null)
