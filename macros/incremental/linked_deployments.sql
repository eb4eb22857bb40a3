{#- int_incident_deployment_links is incremental: a rerun relinks only the incidents whose link can have
    changed. Those are the incidents changed in the load window, and, on each board whose counted deployments
    changed (one added, removed, moved in time or no longer counted), the incidents created after the earliest
    such deployment: an incident links to the latest deployment before it, so nothing earlier can move.
    The deployments the table was last built from are kept beside it (`_pagerduty_linked_deployments`,
    rewritten by its post-hooks in the same transaction as its rows) to tell which changed. -#}

{% macro linked_deployments_table() -%}{{ target.schema }}._pagerduty_linked_deployments{%- endmacro %}

{% macro counted_deployment_boards() -%}
    select board_id, deployment_id, finished_at
    from {{ ref('int_deployment_boards') }} as int_deployment_boards
    where is_counted = 1
{%- endmacro %}

{% macro relinked_incidents(fingerprint_vars=[]) -%}
    select issue_id from ({{ changed_incidents(fingerprint_vars) }}) as changed_in_window
    union
    select counted.issue_id
    from {{ ref('int_incidents_counted') }} as counted
    inner join (
        select board_id, min(finished_at) as since
        from (
            select now_deployed.board_id, now_deployed.finished_at
            from ({{ counted_deployment_boards() }}) as now_deployed
            where not exists (
                select 1 from {{ linked_deployments_table() }} as seen
                where seen.board_id = now_deployed.board_id and seen.deployment_id = now_deployed.deployment_id
                    and seen.finished_at = now_deployed.finished_at
            )
            union all
            select seen.board_id, seen.finished_at
            from {{ linked_deployments_table() }} as seen
            where not exists (
                select 1 from ({{ counted_deployment_boards() }}) as now_deployed
                where seen.board_id = now_deployed.board_id and seen.deployment_id = now_deployed.deployment_id
                    and seen.finished_at = now_deployed.finished_at
            )
        ) as moved
        group by board_id
    ) as moved_boards
        on moved_boards.board_id = counted.board_id and counted.created_at > moved_boards.since
{%- endmacro %}

{% macro forget_linked_deployments() -%}
    delete from {{ linked_deployments_table() }}
{%- endmacro %}

{% macro save_linked_deployments() -%}
    insert into {{ linked_deployments_table() }} (board_id, deployment_id, finished_at)
    {{ counted_deployment_boards() }}
{%- endmacro %}
