{#- Which PagerDuty change events are production deployments: all of them by default; or those of the
    integrations in var `deployment_integration_ids`; and/or those whose custom_details carry every
    key/value of var `deployment_custom_details` (e.g. {"environment": "production"}). -#}
{% macro change_event_is_deployment(integration_id, custom_details) -%}
    {%- set integrations = var('deployment_integration_ids', []) -%}
    {%- set details = var('deployment_custom_details', {}) -%}
    (1 = 1
    {%- if integrations %}
        and {{ integration_id }} in ({% for i in integrations %}'{{ i }}'{{ ", " if not loop.last }}{% endfor %})
    {%- endif %}
    {%- for key, value in details.items() %}
        and {{ json_text(custom_details, '$."' ~ key ~ '"') }} = '{{ value }}'
    {%- endfor %}
    )
{%- endmacro %}
