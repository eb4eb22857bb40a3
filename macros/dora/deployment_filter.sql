{#- Which deployments are production deployments: all of them by default; or, for PagerDuty change events,
    those of the integrations in var deployment_integration_ids; and, for change events and CSV deployments
    alike, those whose custom details hold every key/value of var deployment_custom_details. Values compare
    as text, case-insensitively, JSON booleans and numbers as their JSON text: {"environment": "production"}
    matches "Production", {"rollback": false} matches false. -#}
{% macro deployment_filter(integration_id, custom_details, is_change_event) -%}
    {%- set integrations = var('deployment_integration_ids', []) -%}
    {%- set details = var('deployment_custom_details', {}) -%}
    {%- if details is not mapping -%}
        {{ exceptions.raise_compiler_error("var deployment_custom_details takes an object, e.g. {\"environment\": \"production\"}") }}
    {%- endif -%}
    {%- if integrations is string -%}
        {{ exceptions.raise_compiler_error("var deployment_integration_ids takes a list of integration ids") }}
    {%- endif -%}
    (1 = 1
    {%- if integrations %}
        and ({{ is_change_event }} = 0 or {{ integration_id }} in ({% for i in integrations %}{{ sql_string(i) }}{{ ", " if not loop.last }}{% endfor %}))
    {%- endif %}
    {%- for key, value in details.items() %}
        and lower({{ json_text(custom_details, json_path_key(key)) }}) = lower({{ sql_string(value) }})
    {%- endfor %}
    )
{%- endmacro %}
