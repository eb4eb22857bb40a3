{#- Which incidents count for the DORA metrics: every one, unless the vars dora_excluded_urgencies or
    dora_excluded_priorities name its urgency or priority (DevLake #8362, #8367). An incident without a
    priority is never excluded by a priority name. -#}
{% macro dora_incident_filter(urgency, priority) -%}
    {%- set urgencies = var('dora_excluded_urgencies', []) -%}
    {%- set priorities = var('dora_excluded_priorities', []) -%}
    (1 = 1
    {%- if urgencies %}
        and ({{ urgency }} is null or {{ urgency }} not in ({% for u in urgencies %}'{{ u }}'{{ ", " if not loop.last }}{% endfor %}))
    {%- endif %}
    {%- if priorities %}
        and ({{ priority }} is null or {{ priority }} not in ({% for p in priorities %}'{{ p }}'{{ ", " if not loop.last }}{% endfor %}))
    {%- endif %}
    )
{%- endmacro %}
