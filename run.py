#!/usr/bin/env python3
"""Run DevLake-style PagerDuty blueprints: ingestion into MySQL/MariaDB, then dbt. See `run.py --help`."""

import sys

from runner.cli import main

if __name__ == "__main__":
    sys.exit(main())
