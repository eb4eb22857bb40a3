{#- DevLake's `pull_requests`, with its columns and no rows: PagerDuty has no pull requests, and DevLake's
    lead-time-for-changes panels need the table to answer "no data" rather than fail. -#}
select
    cast(null as char(255)) as id,
    cast(null as char(255)) as base_repo_id,
    cast(null as char(255)) as head_repo_id,
    cast(null as char(100)) as status,
    cast(null as char(100)) as original_status,
    cast(null as char(255)) as title,
    cast(null as char(255)) as description,
    cast(null as char(255)) as url,
    cast(null as char(100)) as author_name,
    cast(null as char(100)) as author_id,
    cast(null as char(100)) as merged_by_name,
    cast(null as char(100)) as merged_by_id,
    cast(null as char(100)) as parent_pr_id,
    cast(null as signed) as pull_request_key,
    cast(null as datetime) as created_date,
    cast(null as datetime) as merged_date,
    cast(null as datetime) as closed_date,
    cast(null as char(100)) as type,
    cast(null as char(100)) as component,
    cast(null as char(40)) as merge_commit_sha,
    cast(null as char(255)) as head_ref,
    cast(null as char(255)) as base_ref,
    cast(null as char(40)) as base_commit_sha,
    cast(null as char(40)) as head_commit_sha,
    cast(null as signed) as additions,
    cast(null as signed) as deletions,
    false as is_draft,
    cast(null as datetime) as created_at,
    cast(null as datetime) as updated_at,
    cast(null as char(255)) as _raw_data_params,
    cast(null as char(255)) as _raw_data_table,
    cast(null as unsigned) as _raw_data_id,
    cast(null as char(255)) as _raw_data_remark

from (select 1 as nothing) as no_rows
where 1 = 0
