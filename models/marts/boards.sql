{#- DevLake's `boards`: one per PagerDuty service. Services that incidents reference but the services
    listing lacks (deleted since, or outside a scope) get a board too, so every incident has one. -#}
with services as (

    select connection_id, service_id, service_name, description, html_url, created_at
    from {{ ref('stg_pagerduty__services') }}

),

referenced as (

    select connection_id, service_id, max(service_name) as service_name
    from {{ ref('stg_pagerduty__incidents') }}
    where service_id is not null
    group by connection_id, service_id

),

all_services as (

    select * from services
    union all
    select
        referenced.connection_id,
        referenced.service_id,
        referenced.service_name,
        null as description,
        null as html_url,
        null as created_at
    from referenced
    left join services
        on services.connection_id = referenced.connection_id
        and services.service_id = referenced.service_id
    where services.service_id is null

)

select
    cast({{ concat_strings(["'pagerduty:Service:'", 'connection_id', "':'", 'service_id']) }} as char(255)) as id,
    cast(service_name as char(255)) as name,
    description,
    cast(html_url as char(255)) as url,
    created_at as created_date,
    cast('pagerduty' as char(100)) as type

from all_services
