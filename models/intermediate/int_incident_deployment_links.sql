{#- Each counted incident to the deployment that caused it, as DevLake's DORA plugin links them: the latest
    counted deployment of its board that finished strictly before the incident was created (and, with var
    dora_max_deployment_gap_hours, at most that many hours before: DevLake #8150). A deployment of several
    services is the latest deployment of each.

    One ordered pass per board instead of a look-up per incident (about 100 µs each on MariaDB): incidents and
    deployments are merged in time order (an incident before a deployment that finished at the same instant,
    as the rule is strict), and the number of deployments seen so far is the ordinal of the latest one before
    the incident (ties on the finish time go to the greatest id, as int_deployment_boards numbers them). Incremental: see macros/incremental/
    linked_deployments.sql for which incidents a rerun relinks; a rerun orders only their boards' deployments
    with them, a full build every board's (a board without incidents adds no link, and naming the boards
    with incidents read every incident once more). Incidents with no deployment before them are dropped
    before the look-up of their deployment (at a million, most of a first build's look-ups). -#}
{%- set link_vars = ['dora_excluded_urgencies', 'dora_excluded_priorities', 'dora_count_merged_incidents',
    'dora_max_deployment_gap_hours'] %}
{{ config(
    materialized='incremental',
    pre_hook=[
        "{{ reset_load_window(" ~ tojson(link_vars) ~ ") }}",
        "{{ delete_changed_rows('issue_id', relinked_incidents(" ~ tojson(link_vars) ~ "), "
            ~ tojson(link_vars) ~ ") }}",
    ],
    table_keys=[['PRIMARY', ['issue_id']], ['ix_links_deployment', ['deployment_id']]],
    post_hook=[
        "{{ ensure_table_keys(this) }}",
        "{{ forget_linked_deployments() }}",
        "{{ save_linked_deployments() }}",
        "{{ save_load_window(" ~ tojson(link_vars) ~ ") }}",
    ],
) }}
{%- set gap_hours = var('dora_max_deployment_gap_hours', none) %}
{%- set relinks_some = not load_window_rebuilds(link_vars) %}
{%- if gap_hours is not none and gap_hours is not number %}
    {{ exceptions.raise_compiler_error("var dora_max_deployment_gap_hours takes a number of hours or null") }}
{%- endif %}

with incidents as (

    select counted.issue_id, counted.board_id, counted.created_at
    from {{ ref('int_incidents_counted') }} as counted
    {%- if relinks_some %}
    inner join ({{ relinked_incidents(link_vars) }}) as relinked on relinked.issue_id = counted.issue_id
    {%- endif %}

),

timeline as (

    select board_id, created_at as at_time, 0 as kind, 0 as ordinal, issue_id
    from incidents
    union all
    select board_id, finished_at as at_time, 1 as kind, counted_ordinal as ordinal, null as issue_id
    from {{ ref('int_deployment_boards') }} as int_deployment_boards
    where is_counted = 1
    {%- if relinks_some %}
        and board_id in (select board_id from incidents)
    {%- endif %}

),

counted_so_far as (

    select
        issue_id,
        board_id,
        at_time,
        kind,
        sum(kind) over (
            partition by board_id order by at_time, kind, ordinal rows between unbounded preceding and current row
        ) as deployments_before
    from timeline

)

select
    cast(counted_so_far.issue_id as char(255)) as issue_id,
    cast(counted_so_far.board_id as char(255)) as board_id,
    cast(deployments.deployment_id as char(255)) as deployment_id
from counted_so_far
inner join {{ ref('int_deployment_boards') }} as deployments
    on deployments.board_id = counted_so_far.board_id
    and deployments.counted_ordinal = counted_so_far.deployments_before
where counted_so_far.kind = 0 and counted_so_far.deployments_before > 0
    {%- if gap_hours is not none %}
    and deployments.finished_at >= counted_so_far.at_time - interval {{ (gap_hours * 3600) | int }} second
    {%- endif %}
