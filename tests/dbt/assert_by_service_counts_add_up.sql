{#- The per-service view counts every resolved incident of the month exactly once. -#}
with per_service as (

    select month, sum(resolved_incidents) as resolved_incidents
    from {{ ref('dora_mttr_monthly_by_service') }}
    group by month

)

select overall.month, overall.resolved_incidents, per_service.resolved_incidents as summed
from {{ ref('dora_mttr_monthly') }} as overall
left join per_service on per_service.month = overall.month
where per_service.resolved_incidents is null or per_service.resolved_incidents <> overall.resolved_incidents
