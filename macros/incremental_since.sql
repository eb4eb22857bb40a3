{#- In an incremental run, the earliest load time to re-read: the newest row already in the model minus a
    lookback (var incremental_lookback_minutes), so a load that committed while dbt last ran is not missed.
    Re-reading is harmless: the models replace rows by key. -#}
{% macro incremental_since(loaded_at_column='updated_at') -%}
    (select coalesce({{ minutes_before('max(' ~ loaded_at_column ~ ')', var('incremental_lookback_minutes', 60)) }},
                     cast('1970-01-01' as datetime))
     from {{ this }})
{%- endmacro %}
