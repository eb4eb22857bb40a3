{#- Which incidents count for the DORA metrics: every one, unless the vars dora_excluded_urgencies or
    dora_excluded_priorities name its urgency or priority (DevLake #8362, #8367), and except incidents merged
    into another (the one they were merged into carries the restoration) unless var
    dora_count_merged_incidents is true, as DevLake counts them. An incident without a priority is never
    excluded by a priority name. -#}
{% macro dora_incident_filter(urgency, priority, is_merged) -%}
    {%- set urgencies = var('dora_excluded_urgencies', []) -%}
    {%- set priorities = var('dora_excluded_priorities', []) -%}
    {%- if urgencies is string or priorities is string -%}
        {{ exceptions.raise_compiler_error("vars dora_excluded_urgencies and dora_excluded_priorities take lists, e.g. [\"low\"]") }}
    {%- endif -%}
    (1 = 1
    {%- if urgencies %}
        and ({{ urgency }} is null or {{ urgency }} not in ({% for u in urgencies %}{{ sql_string(u) }}{{ ", " if not loop.last }}{% endfor %}))
    {%- endif %}
    {%- if priorities %}
        and ({{ priority }} is null or {{ priority }} not in ({% for p in priorities %}{{ sql_string(p) }}{{ ", " if not loop.last }}{% endfor %}))
    {%- endif %}
    {%- if not var('dora_count_merged_incidents', false) %}
        and {{ is_merged }} = 0
    {%- endif %}
    )
{%- endmacro %}
