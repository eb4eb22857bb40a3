{#- response_mtta_monthly per PagerDuty team: an incident counts once for each team it names (PagerDuty's
    incident `teams`), with the team's current name from the account's list. Incidents of no team are not
    in this view. -#}
with counted as (

    select teams.team_id, teams.team_name, responses.created_month, responses.seconds_to_first_ack
    from {{ ref('response_incidents') }} as responses
    inner join {{ ref('int_incident_teams_unnested') }} as teams
        on teams.connection_id = responses.connection_id and teams.incident_id = responses.incident_id
    where {{ dora_incident_filter('responses.urgency', 'responses.priority_name', 'responses.is_merged') }}

),

totals as (

    select created_month, team_id, max(team_name) as team_name, count(*) as incidents
    from counted
    group by created_month, team_id

),

{{ mtta_ranks(['team_id']) }}

select
    totals.created_month as month,
    cast(totals.team_id as char(64)) as team_id,
    cast(totals.team_name as char(255)) as team_name,
    totals.incidents,
    {{ mtta_columns() }}

from totals
{{- mtta_joins(['team_id']) }}
