{#- Deployment frequency (DORA 2023), per calendar month (UTC) from the first month with a counted deployment
    to the last: counted deployments (each once, however many services it deployed), the days with at least
    one, and the median number of deployment days per week, weeks starting on Monday as DevLake's dashboard
    counts them (a week that spans two months counts in each, for its days in it; the month not over yet, for
    its days until today, UTC). The level follows DevLake's
    2023 rule: a median of 5 or more deployment days a week is elite, 1 or more high, a deployment day in
    the month medium, none low. The median is DevLake's (the greatest value whose percent rank is at most
    0.5), so this level equals the one its dashboard shows for the month. -#}
with deployment_days as (

    select distinct cast(finished_at as date) as day
    from {{ ref('int_deployment_outcomes') }} as int_deployment_outcomes

),

deployed_months as (

    select month, count(*) as deployments
    from {{ ref('int_deployment_outcomes') }} as int_deployment_outcomes
    group by month

),

months as (

    select calendar.month_timestamp as month
    from {{ ref('calendar_months') }} as calendar
    where calendar.month_timestamp >= (select min(month) from deployed_months)
        and calendar.month_timestamp <= (select max(month) from deployed_months)

),

day_numbers as (

    {% for n in range(31) -%}
    select {{ n }} as n{% if not loop.last %} union all {% endif %}
    {% endfor %}

),

days as (

    select months.month, cast(months.month + interval day_numbers.n day as date) as day
    from months
    cross join day_numbers
    where months.month + interval day_numbers.n day < months.month + interval 1 month
        and months.month + interval day_numbers.n day <= utc_date()

),

weeks as (

    select month, day, cast(day - interval weekday(day) day as date) as week
    from days

),

weekly as (

    select weeks.month, weeks.week, count(deployment_days.day) as days_deployed
    from weeks
    left join deployment_days on deployment_days.day = weeks.day
    group by weeks.month, weeks.week

),

ranked as (

    select month, days_deployed, percent_rank() over (partition by month order by days_deployed) as rank_in_month
    from weekly

),

monthly as (

    select
        months.month,
        coalesce(deployed_months.deployments, 0) as deployments,
        (select count(*) from deployment_days where deployment_days.day >= months.month
            and deployment_days.day < months.month + interval 1 month) as deployment_days,
        (select max(ranked.days_deployed) from ranked
            where ranked.month = months.month and ranked.rank_in_month <= 0.5) as median_deployment_days_per_week
    from months
    left join deployed_months on deployed_months.month = months.month

)

select
    cast(month as date) as month,
    deployments,
    deployment_days,
    median_deployment_days_per_week,
    deployments * 7e0 / (datediff(month + interval 1 month, month)) as deployments_per_week,
    {{ deployment_frequency_level('median_deployment_days_per_week', 'deployment_days') }} as level

from monthly
