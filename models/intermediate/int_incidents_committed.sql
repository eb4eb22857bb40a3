{#- Incidents whose raw row belongs to a completed load, with the load's completion time: incremental
    models take the rows committed since their last build. A load that commits while dbt runs has a later
    completion time than anything that build saw, so the next build takes it. -#}
select
    incidents.*,
    loads.committed_at

from {{ ref('stg_pagerduty__incidents') }} as incidents
inner join {{ ref('stg_pagerduty__loads') }} as loads
    on loads.load_id = incidents.load_id
