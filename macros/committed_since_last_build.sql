{#- The predicate of an incremental build: rows committed after the newest row already in the model (its
    updated_at is the commit time of the load it came from). Rows are replaced by key, so a row taken twice
    does no harm; a row never taken would. -#}
{% macro committed_since_last_build(committed_at='committed_at') -%}
    {{ committed_at }} > (select coalesce(max(updated_at), cast('1970-01-01' as datetime)) from {{ this }})
{%- endmacro %}
