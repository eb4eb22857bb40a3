{#- MariaDB's CREATE TABLE AS takes the query bare: it refuses a parenthesized WITH. -#}
{% macro mariadb__create_table_as(temporary, relation, sql) -%}
  {{ mysql8_create_table_head(temporary, relation, sql) }} as
    {{ mysql8_contract_select(sql) }}
{%- endmacro %}
