{#- Versions of incidents written by completed loads: a load that died left rows nobody reads. -#}
select versions.*, loads.load_seq
from {{ ref('stg_pagerduty__incident_versions') }} as versions
inner join {{ ref('stg_pagerduty__loads') }} as loads on loads.load_id = versions.load_id
