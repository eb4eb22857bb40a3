{#- on-run-end: a model that builds into another schema than it did (the staging and intermediate models moved
    to `<lake>_staging`) leaves its old view or table behind in the lake, where BI tools would still list it and
    nothing would refresh it. Once the new relations are built, the old ones are dropped. Only relations named
    after a model of this project are touched. -#}
{% macro drop_relations_moved_away() -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set moved = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.schema != target.schema -%}
            {%- do moved.append(node.alias or node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if moved -%}
        {%- set found = run_query(
            "select table_name, table_type from information_schema.tables where table_schema = '"
            ~ target.schema ~ "' and table_name in ('" ~ moved | join("', '") ~ "')"
        ) -%}
        {%- for name, kind in found.rows -%}
            {%- do run_query(('drop view if exists ' if kind == 'VIEW' else 'drop table if exists ')
                ~ adapter.quote(target.schema) ~ '.' ~ adapter.quote(name)) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
