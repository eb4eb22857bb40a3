"""`run.py serve`: DevLake's REST API for PagerDuty connections, blueprints and pipelines."""
