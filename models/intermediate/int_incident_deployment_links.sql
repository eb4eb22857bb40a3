{#- Each counted incident to the deployment that caused it, as DevLake's DORA plugin links them: the latest
    counted deployment of its board that finished strictly before the incident was created (and, with var
    dora_max_deployment_gap_hours, at most that many hours before: DevLake #8150). A deployment of several
    services is the latest deployment of each. -#}
{{ config(materialized='table') }}
{%- set gap_hours = var('dora_max_deployment_gap_hours', none) %}
{%- if gap_hours is not none and gap_hours is not number %}
    {{ exceptions.raise_compiler_error("var dora_max_deployment_gap_hours takes a number of hours or null") }}
{%- endif %}

with linked as (

    select
        incidents.issue_id,
        incidents.board_id,
        (
            select deployments.deployment_id
            from {{ ref('int_deployment_boards') }} as deployments
            where deployments.board_id = incidents.board_id
                and deployments.is_counted = 1
                and deployments.finished_at < incidents.created_at
                {%- if gap_hours is not none %}
                and deployments.finished_at >= incidents.created_at - interval {{ (gap_hours * 3600) | int }} second
                {%- endif %}
            order by deployments.finished_at desc, deployments.deployment_id desc
            limit 1
        ) as deployment_id
    from {{ ref('int_incidents_counted') }} as incidents

)

select issue_id, board_id, deployment_id
from linked
where deployment_id is not null
