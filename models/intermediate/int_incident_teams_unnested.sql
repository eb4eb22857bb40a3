{#- One row per incident and team it names (PagerDuty's incident `teams`), with the team's current name from
    the account's list (the name the incident carried when read, for a team the list lacks). -#}
select
    incidents.connection_id,
    incidents.incident_id,
    team.team_id,
    coalesce(teams.team_name, team.team_name) as team_name

from {{ ref('stg_pagerduty__incidents') }} as incidents
cross join {{ json_array_rows('incidents.teams', [
    ('team_id', 'varchar(64)', '$.id'),
    ('team_name', 'varchar(255)', '$.name'),
], 'team') }}
left join {{ ref('stg_pagerduty__teams') }} as teams
    on teams.connection_id = incidents.connection_id and teams.team_id = team.team_id
where team.team_id is not null
