"""`run.py report`: the lake's DORA metrics as one self-contained HTML page (logic in runner/report.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingestion.database import Database

from ..errors import InputError
from ..report import DEFAULT_MONTHS, write_report
from ..settings import Settings


def add_parsers(commands: Any, epilog: Callable[[str], str]) -> None:
    report = commands.add_parser(
        "report",
        help="write the DORA metrics of the lake in DB_URL as one HTML page that opens offline",
        epilog=epilog("report"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("--out", default="report.html", help="the page to write (default report.html)")
    report.add_argument(
        "--months",
        type=int,
        default=DEFAULT_MONTHS,
        help=f"calendar months shown, ending with the newest month of the lake (default {DEFAULT_MONTHS})",
    )
    report.add_argument(
        "--project", help="only this project's services (a blueprint's projectName, or its name)"
    )
    report.add_argument(
        "--service",
        help="only this PagerDuty service (its id or its name); with --project, a service of that project",
    )


def report_command(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    """The report reads an existing lake: DB_URL must say which one (the default lake of `run` would only
    ever be a guess here)."""
    if not settings.environ.get("DB_URL", "").strip():
        raise InputError(
            "DB_URL is not set: set it to the lake to report on, e.g. mysql://user@host:3306/lake"
        )
    out = Path(args.out)
    data = write_report(database, out, months=args.months, project=args.project, service=args.service)
    print(f"report of {data.lake}, {', '.join(data.filters)}, written to {out.resolve()}")
    return 0
