"""Ingestion: PagerDuty's API into the raw tables of `<lake>_raw`, through dlt."""
