{#- Every ref and source of this project is aliased where it is used (`{{ ref('x') }} as x`). `dbt build
    --empty` renders each as `(select * from x where false limit 0)` followed by an alias of dbt's own, which
    MySQL and MariaDB refuse before the model's alias: these overrides leave the alias to the model
    (adapters/dbt-mysql8/README.md, "--empty"). Generic data tests (dbt's, `from {{ model }}`, unaliased) keep
    dbt's alias; singular ones (tests/dbt) alias their refs as models do. Without --empty they change nothing. -#}
{% macro ref() -%}
  {%- set relation = builtins.ref(*varargs, **kwargs) -%}
  {{ return(relation if model.get('test_metadata') else relation.without_limit_alias()) }}
{%- endmacro %}

{% macro source() -%}
  {%- set relation = builtins.source(*varargs, **kwargs) -%}
  {{ return(relation if model.get('test_metadata') else relation.without_limit_alias()) }}
{%- endmacro %}
