{{ config(tags=['heavy']) }}
{#- dora_cfr_monthly recomputed from DevLake's tables: each counted deployment of cicd_deployments once, by the
    month of its finish, failed when project_incident_deployment_relationships links an incident to it. -#}
with deployments as (

    select
        cast(concat(year(finished_date), '-', lpad(month(finished_date), 2, '0'), '-01') as date) as month,
        id,
        case when exists (
            select 1 from {{ ref('project_incident_deployment_relationships') }} as links where links.deployment_id = d.id
        ) then 1 else 0 end as failed
    from {{ ref('cicd_deployments') }} as d
    where result = 'SUCCESS' and environment = 'PRODUCTION'

),

expected as (

    select month, count(*) as deployments, sum(failed) as failed_deployments
    from deployments
    group by month

)

select expected.month, expected.deployments, view_row.deployments as view_deployments
from expected
left join {{ ref('dora_cfr_monthly') }} as view_row on view_row.month = expected.month
where view_row.month is null
    or view_row.deployments <> expected.deployments
    or view_row.failed_deployments <> expected.failed_deployments

union all

select view_row.month, null, view_row.deployments
from {{ ref('dora_cfr_monthly') }} as view_row
left join expected on expected.month = view_row.month
where expected.month is null
