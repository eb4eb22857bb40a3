"""Command line of run.py: the parser, the settings read once, and exit codes. The commands themselves live in
runner/commands/; running a blueprint is runner/orchestration.py's."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import signal
import sys
import threading
import tomllib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import pymysql

from ingestion.database import Database, DatabaseUrlError, LakeMissing, NotOurDatabase
from ingestion.deployments import DeploymentsFileError

from .commands import blueprint_runs, manage, report, serve
from .errors import InputError
from .help_texts import epilog
from .orchestration import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED
from .output import out
from .settings import Settings, environment_help

COMMANDS = """commands:
  run          run a blueprint once: ingest, then dbt build
  reconcile    list every incident of a blueprint again; replace what differs; print the drift
  schedule     run a blueprint on its cronConfig, one run at a time
  serve        DevLake's REST API (connections, blueprints, pipelines)
  connections  add | list | show | update | delete | test | rotate-secret saved connections
  pipelines    list | show records of runs
  report       write the DORA metrics of the lake as one HTML page (opens offline)
"""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        # `pagerduty-dora`, the installed command (pyproject.toml), names itself; anything else is run.py
        prog="pagerduty-dora" if os.path.basename(sys.argv[0]) == "pagerduty-dora" else "run.py",
        description="Load PagerDuty incidents into MySQL/MariaDB for DORA metrics, DevLake-style.",
        epilog=COMMANDS + "\n" + environment_help() + "\nrun.py COMMAND --help: the command's options, exit"
        " codes and the variables it reads",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action=_Version, help="print the version and exit")
    commands = root.add_subparsers(dest="command", required=True)
    blueprint_runs.add_parsers(commands, epilog)
    serve.add_parsers(commands, epilog)
    manage.add_parsers(commands, epilog)
    report.add_parsers(commands, epilog)
    return root


class _Version(argparse.Action):
    """--version, looked up only when asked for (a copy without pyproject.toml, as in the image, still
    starts)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"{parser.prog} {version()}")
        parser.exit()


def version() -> str:
    """The project's version: the installed package's, else pyproject.toml's (a checkout run as run.py)."""
    try:
        return importlib.metadata.version("pagerduty-dora")
    except importlib.metadata.PackageNotFoundError:
        with (Path(__file__).resolve().parent.parent / "pyproject.toml").open("rb") as handle:
            return tomllib.load(handle)["project"]["version"]


LAKE_CREATORS = {"run", "reconcile", "schedule", "serve"}
"""The commands that create a lake when DB_URL names none (and say so). Saving a connection must be able to
create the lake it lives in too; everything else only reads one."""


def creates_a_lake(args: argparse.Namespace) -> bool:
    if args.command in LAKE_CREATORS:
        return True
    return args.command == "connections" and args.action == "add"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    out.configure(getattr(args, "log_format", "text"), getattr(args, "quiet", False))
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # an orchestrator's stop ends the run like Ctrl-C
    database: Optional[Database] = None
    try:
        settings = Settings.from_env()
        database = settings.database()
        if not creates_a_lake(args):
            database = replace(database, may_create=False)
        if args.command in ("run", "reconcile"):
            return blueprint_runs.run_command(args, database, settings)
        if args.command == "schedule":
            return blueprint_runs.schedule_command(args, database, settings)
        if args.command == "report":
            return report.report_command(args, database, settings)
        if args.command == "serve":
            return serve.serve_command(args, database, settings)
        return manage.manage_command(args, database, settings)
    except (InputError, DatabaseUrlError, DeploymentsFileError, NotOurDatabase, LakeMissing) as exc:
        for line in str(exc).splitlines():
            out.error(line, event="bad_input")
        return EXIT_BAD_INPUT
    except pymysql.err.OperationalError as exc:
        where = database.describe() if database else "DB_URL"
        out.error(f"cannot use the database at {where}: {exc.args[-1]}", event="database")
        return EXIT_FAILED
    except KeyboardInterrupt:
        out.error("interrupted; the interrupted load was not committed", event="interrupted")
        # loads in flight on other threads are not waited for: leave now (their rows stay invisible, and the
        # next run deletes them)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
