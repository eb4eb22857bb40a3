{#- DevLake's `calendar_months`, the months its DORA dashboards chart: `month` as '%y/%m' (e.g. '24/03') and
    `month_timestamp` as the month's first day. DevLake fills two years back and ten ahead of its install;
    this holds 2000-01 to 2099-12, the years a two-digit `month` tells apart, with no clock involved. -#}
{{ config(table_keys=[['PRIMARY', ['month']]], post_hook="{{ ensure_table_keys(this) }}") }}

with digits as (

    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9

),

offsets as (

    select hundreds.d * 100 + tens.d * 10 + units.d as months_after
    from digits as hundreds
    cross join digits as tens
    cross join digits as units
    union all
    select 1000 + hundreds.d * 100 + tens.d * 10 + units.d
    from digits as hundreds
    cross join digits as tens
    cross join digits as units
    where hundreds.d < 2

),

months as (

    select cast('2000-01-01' as datetime) + interval months_after month as month_timestamp
    from offsets

)

select
    cast(date_format(month_timestamp, '%y/%m') as char(20)) as month,
    month_timestamp

from months
