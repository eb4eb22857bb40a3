{#- DevLake's id of a PagerDuty object: `pagerduty:<Kind>:<connectionId>:<key>` (Incident: the incident
    number; Service: the service id; ChangeEvent: the change event id). -#}
{% macro devlake_id(kind, connection_id, key) -%}
    cast({{ concat_strings(["'pagerduty:" ~ kind ~ ":'", connection_id, "':'", key]) }} as char(255))
{%- endmacro %}
