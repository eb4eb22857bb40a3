"""The blueprint runner behind run.py: DevLake-style blueprints and connections, then ingestion and dbt."""
