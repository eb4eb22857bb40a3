{#- Every assignment the lake has seen: from each version of each incident read while it was open
    (PagerDuty empties `assignments` on resolution), and from the assign and escalate log entries a rerun
    read. One row per incident, assignee and moment. -#}
{{ incident_assignments() }}
