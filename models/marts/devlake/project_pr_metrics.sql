{#- DevLake's `project_pr_metrics` (pull requests' cycle times per project), with its columns and no rows: the
    lead-time-for-changes panels join it, and show "no data" for a lake without pull requests. -#}
select
    cast(null as char(255)) as id,
    cast(null as char(100)) as project_name,
    cast(null as char(255)) as first_commit_sha,
    cast(null as signed) as pr_coding_time,
    cast(null as char(255)) as first_review_id,
    cast(null as signed) as pr_pickup_time,
    cast(null as signed) as pr_review_time,
    cast(null as char(255)) as deployment_commit_id,
    cast(null as signed) as pr_deploy_time,
    cast(null as signed) as pr_cycle_time,
    cast(null as datetime) as first_commit_authored_date,
    cast(null as datetime) as first_comment_date,
    cast(null as datetime) as pr_created_date,
    cast(null as datetime) as pr_merged_date,
    cast(null as datetime) as pr_deployed_date,
    cast(null as datetime) as created_at,
    cast(null as datetime) as updated_at,
    cast(null as char(255)) as _raw_data_params,
    cast(null as char(255)) as _raw_data_table,
    cast(null as unsigned) as _raw_data_id,
    cast(null as char(255)) as _raw_data_remark

from (select 1 as nothing) as no_rows
where 1 = 0
