{#- The counted deployments behind the change failure rate, each once: its finish, its month (UTC), and
    whether it failed (at least one counted incident of any of its services is linked to it). -#}
with counted as (

    select deployment_id, max(finished_at) as finished_at
    from {{ ref('int_deployment_boards') }} as int_deployment_boards
    where is_counted = 1
    group by deployment_id

),

failed as (

    select distinct deployment_id from {{ ref('int_incident_deployment_links') }} as int_incident_deployment_links

)

select
    counted.deployment_id,
    counted.finished_at,
    {{ month_start('counted.finished_at') }} as month,
    case when failed.deployment_id is not null then 1 else 0 end as is_failed

from counted
left join failed on failed.deployment_id = counted.deployment_id
