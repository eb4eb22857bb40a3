# the dbt-mysql8 distribution's version (`dbt --version` lists each plugin type it finds)
version = "1.11.0"
