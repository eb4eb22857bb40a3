{#- dbt's current_timestamp() on MySQL/MariaDB follows the session time zone, while dlt stores naive UTC:
    source freshness would be off by the server's offset. These overrides make it UTC. -#}
{% macro mysql__current_timestamp() -%}
    utc_timestamp()
{%- endmacro %}

{% macro mariadb__current_timestamp() -%}
    utc_timestamp()
{%- endmacro %}
