{#- A JSON path to one top-level key of an object, the key quoted and escaped ($."a key"), for keys that
    come from dbt vars. -#}
{% macro json_path_key(key) -%}
    {{ return('$."' ~ (key | string | replace("\\", "\\\\") | replace('"', '\\"')) ~ '"') }}
{%- endmacro %}
