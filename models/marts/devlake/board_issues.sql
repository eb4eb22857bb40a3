{#- DevLake's `board_issues`: each covered incident on the board of its service. Incremental like `issues`;
    an incident moved to another service moves board. -#}
{{ config(
    materialized='incremental',
    pre_hook=[
        "{{ reset_load_window() }}",
        "{{ delete_changed_rows('issue_id', 'select issue_id from (' ~ changed_incidents() ~ ') as c') }}",
    ],
    table_keys=[['PRIMARY', ['issue_id', 'board_id']]],
    post_hook=["{{ ensure_table_keys(this) }}", "{{ save_load_window() }}"],
) }}

select
    covered.board_id,
    covered.issue_id,
    loads.completed_at as created_at,
    loads.completed_at as updated_at

from {{ ref('int_incidents_covered') }} as covered
{{ join_changed('covered') }}
inner join {{ ref('stg_pagerduty__loads') }} as loads on loads.load_seq = covered.load_seq
where covered.board_id is not null
