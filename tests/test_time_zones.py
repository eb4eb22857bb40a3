"""A MariaDB server whose default time zone is not UTC, and a run.py process whose local time zone is not UTC
(neither on UTC's side of the date line): the lake must be the one a UTC server and a UTC process build, and
every stored time must be UTC (checked by hand against the simulator and the wall clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scripts.private_server import private_server

from .helpers import SEED_BLUEPRINT, SIM_TOKEN, lake, query, rendered, run_cli, utc, write_json

COMPARED = {
    "issues": "SELECT id, status, original_status, created_date, resolution_date, lead_time_minutes,"
    " assignee_id FROM issues ORDER BY id",
    "board_issues": "SELECT board_id, issue_id FROM board_issues ORDER BY 1, 2",
    "dora_mttr_monthly": "SELECT * FROM dora_mttr_monthly ORDER BY month",
    "dora_cfr_monthly": "SELECT * FROM dora_cfr_monthly ORDER BY month",
    "cicd_deployments": "SELECT * FROM cicd_deployments ORDER BY id",
}


def run_seed(db, sim, tmp_path, tz: str):
    bp = write_json(tmp_path / f"blueprint-{tz.replace('/', '-')}.json", SEED_BLUEPRINT)
    cn = write_json(
        tmp_path / f"connections-{tz.replace('/', '-')}.json",
        [{"id": 1, "name": "PagerDuty-test1", "endpoint": sim.url, "token": SIM_TOKEN}],
    )
    result = run_cli(db, "run", "--blueprint", bp, "--connections", cn, env={"TZ": tz})
    assert result.returncode == 0, result.stderr
    return {name: lake(db, sql) for name, sql in COMPARED.items()}


def test_a_server_and_a_process_not_in_utc_build_the_utc_lake(database, simulator, tmp_path) -> None:
    sim = simulator(seed=31, size=300, services=2, days=90, account_time_zone="America/Los_Angeles")
    reference = run_seed(database, sim, tmp_path, "UTC")
    try:
        ctx = private_server(f"pdtest_tz_{database.name[-10:]}", ("--default-time-zone=-07:00",))
        skewed = ctx.__enter__()
    except RuntimeError as exc:
        pytest.skip(f"no private MariaDB/MySQL server can start here: {exc}")
    try:
        assert query(skewed, "SELECT @@global.time_zone", database="mysql") == [("-07:00",)]
        started = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        # the process on UTC+14 (Kiribati), the server on UTC-7: a day apart on the calendar
        got = run_seed(skewed, sim, tmp_path, "Pacific/Kiritimati")
        finished = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)
        assert got == reference
        # times the run stamped itself are UTC too: the pipeline record and the load ledger
        [(began, ended)] = query(
            skewed, "SELECT began_at, finished_at FROM _devlake_pipelines", database=skewed.name
        )
        assert started <= began <= ended <= finished
        [(completed,)] = query(skewed, "SELECT completed_at FROM _loads WHERE status = 'completed'")
        assert started <= completed <= finished
    finally:
        ctx.__exit__(None, None, None)
    # and the reference itself by hand: created_date is the rendered time with its offset, in UTC
    created = {f"pagerduty:Incident:1:{i['incident_number']}": utc(i["created_at"]) for i in rendered(sim)}
    assert len(reference["issues"]) == 300
    assert {row[0]: row[3] for row in reference["issues"]} == {
        k: v.replace(tzinfo=None) for k, v in created.items()
    }
