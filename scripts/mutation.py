"""`make mutation`: deliberate faults the suite must catch, each run against the tests that should catch it.

Each fault is a small patch (one exact old-string -> new-string replacement in one file, checked to occur
exactly once) applied to a scratch copy of the work tree (tracked and untracked files, without .venv, target
and the like). The copy's targeted tests (pytest node ids or -k expressions) must then fail: the fault is
killed. A fault whose tests pass survived. First, the same tests run on an unpatched copy and must pass, so a
kill is the fault's doing and not a broken or skipped test.

    python -m scripts.mutation [--jobs N] [--only SUBSTRING ...] [--no-baseline] [--keep]

Prints one line per fault and `killed N/M` at the end; exits 1 if any fault survived (or the baseline
failed), 2 if a patch does not apply exactly once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Fault:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    """pytest arguments: node ids, files, or "-k" followed by an expression."""


T_ING = "tests/test_ingestion.py::"
T_MOD = "tests/test_models.py::"
T_CFR = "tests/test_cfr.py::"
T_UNIT = "tests/test_rate_limiter_and_cron.py::"
T_DRIFT = "tests/test_drift.py::"
T_CONTRACT = "tests/test_api_contract.py::"
T_FACTS = "tests/test_response.py::test_per_incident_facts_match_the_log_entries_computed_by_hand"
T_VIEWS = "tests/test_response.py::test_first_load_of_an_all_resolved_account_fills_assignees_and_views"
T_ADAPTER = "tests/adapter/test_conformance.py::"
_ADAPTER = "adapters/dbt-mysql8/src/dbt/"
_WRITE = 'load.write(table, _checkpointed(source.resources[table.name], f"collect:{table.name}"))'

FAULTS: tuple[Fault, ...] = (
    # ---------------------------------------------------------------------------------------- ingestion
    Fault(
        "client: a 429 no longer pauses until ratelimit-reset (unit)",
        "ingestion/pagerduty/client.py",
        "self.pause(reset if reset is not None else settings.RATE_LIMIT_BARE_PAUSE_SECONDS)",
        "pass",
        (T_UNIT + "test_a_429_pauses_until_ratelimit_reset",),
    ),
    Fault(
        "client: ratelimit-reset ignored after a 429 (no pause, no Retry-After): retries at once",
        "ingestion/pagerduty/client.py",
        "        self.limiter.observe(response)\n"
        '        if response.status_code == 429 and "Retry-After" not in response.headers:',
        "        if False:",
        (T_ING + "test_429_waits_for_ratelimit_reset_without_hammering",),
    ),
    Fault(
        "client: ratelimit-remaining 0 ignored",
        "ingestion/pagerduty/client.py",
        'elif response.headers.get("ratelimit-remaining", "").strip() == "0" and reset is not None:',
        "elif False:",
        (T_UNIT + "test_what_pauses_and_for_how_long",),
    ),
    Fault(
        "client: rateLimitPerHour ignored by the limiter",
        "ingestion/pagerduty/client.py",
        "self.limits = [(per_hour, 3600.0)] if per_hour else [(per_minute, 60.0)]",
        "self.limits = [(per_minute, 60.0)]",
        (T_UNIT + "test_rate_limit_per_hour_replaces_the_per_minute_limit",),
    ),
    Fault(
        "scope load: the connection's rateLimitPerHour never reaches the client",
        "ingestion/scope_load.py",
        "rate_limit_per_hour=connection.rate_limit_per_hour,",
        "rate_limit_per_hour=None,",
        (T_ING + "test_rate_limit_per_hour_paces_a_load",),
    ),
    Fault(
        "scope load: the connection's proxy is not used",
        "ingestion/scope_load.py",
        "proxy=connection.proxy,",
        "proxy=None,",
        (T_ING + "test_a_load_goes_through_the_connections_proxy",),
    ),
    Fault(
        "client: HTTP 403 is not an authentication error",
        "ingestion/pagerduty/client.py",
        "if response.status_code in (401, 403):",
        "if response.status_code == 401:",
        ("-k", "test_a_refused_token_stops_at_once_and_names_the_connection", "tests/test_ingestion.py"),
    ),
    Fault(
        "client: a page cut off mid-body is not fetched again",
        "ingestion/pagerduty/client.py",
        "    except orjson.JSONDecodeError:\n        return True\n    return False",
        "    except orjson.JSONDecodeError:\n        return False\n    return False",
        (T_ING + "test_5xx_and_cut_off_pages_are_retried",),
    ),
    Fault(
        "source: incidents created before start_date kept",
        "ingestion/pagerduty/__init__.py",
        'if row["created_at"] < self._start_naive:',
        "if False:",
        (T_ING + "test_start_date_boundary",),
    ),
    Fault(
        "paging: no 10,000 split",
        "ingestion/pagerduty/paging.py",
        "if total > ceiling or (total == ceiling and wide):",
        "if False:",
        (T_ING + "test_first_load_over_six_months_with_a_burst_past_10000",),
    ),
    Fault(
        "paging: windows start at their edge, not one second early",
        "ingestion/pagerduty/paging.py",
        '{"since": iso_z(start - settings.WINDOW_OVERLAP), "until": iso_z(end)}',
        '{"since": iso_z(start), "until": iso_z(end)}',
        (T_ING + "test_windows_cover_the_range_and_queries_start_a_second_early",),
    ),
    Fault(
        "paging: a shifted listing fails at once instead of being read again",
        "ingestion/pagerduty/paging.py",
        "if window.attempt == 2:",
        "if window.attempt >= 1:",
        (T_ING + "test_a_listing_that_shifts_is_read_again_and_a_second_shortfall_stops",),
    ),
    Fault(
        "paging: a window's shortfall is never noticed",
        "ingestion/pagerduty/paging.py",
        "if window.pages_left == 0 and exact and len(window.seen) < window.total:",
        "if False:",
        (T_ING + "test_a_listing_that_shifts_is_read_again_and_a_second_shortfall_stops",),
    ),
    Fault(
        "times: parsed with replace(tzinfo=UTC) instead of astimezone(UTC)",
        "ingestion/pagerduty/times.py",
        "    return moment.astimezone(UTC)\n\n\ndef utc_naive",
        "    return moment.replace(tzinfo=UTC)\n\n\ndef utc_naive",
        (T_ING + "test_times_in_every_iso_shape_are_read_with_their_offset",),
    ),
    Fault(
        "times: PagerDuty's own shape read with its offset added instead of subtracted",
        "ingestion/pagerduty/times.py",
        "                return moment - offset",
        "                return moment + offset",
        (T_ING + "test_times_with_offsets_are_stored_in_utc",),
    ),
    Fault(
        "times: a time without an offset is accepted",
        "ingestion/pagerduty/times.py",
        "if moment.tzinfo is None or moment.utcoffset() is None:",
        "if False:",
        (T_ING + "test_a_time_without_an_offset_is_refused_naming_its_field",),
    ),
    Fault(
        "source: no open-incident refresh on a rerun",
        "ingestion/pagerduty/__init__.py",
        "            yield from self._refresh_open()\n",
        "            pass\n",
        (T_ING + "test_rerun_catches_changes_at_the_documented_cost",),
    ),
    Fault(
        "source: incidents named by log entries are not read by id",
        "ingestion/pagerduty/__init__.py",
        "            yield from self._read_changed()\n",
        "            pass\n",
        (T_ING + "test_edits_after_resolution_merges_and_moves_arrive_in_one_rerun",),
    ),
    Fault(
        "source: change events get no trailing window",
        "ingestion/pagerduty/__init__.py",
        "max(oldest_kept, last - settings.CHANGE_EVENT_TRAILING_WINDOW)",
        "max(oldest_kept, last)",
        (T_ING + "test_late_change_events_arrive_on_the_next_run",),
    ),
    Fault(
        "scope load: a failed run commits what it collected, moving the cut-off, then fails",
        "ingestion/scope_load.py",
        " " * 16 + _WRITE + "\n",
        " " * 16 + "try:\n" + " " * 20 + _WRITE + "\n"
        "                except Exception:\n"
        "                    load.complete(state=stats.next_state.to_json())\n"
        "                    raise\n",
        (T_ING + "test_failed_runs_leave_the_state_and_the_data_as_they_were",),
    ),
    # ------------------------------------------------------------------------------------------- models
    Fault(
        "model: last_status_change_at taken before resolved_at",
        "models/intermediate/int_incidents_covered.sql",
        "coalesce(resolved_at, last_status_change_at)",
        "coalesce(last_status_change_at, resolved_at)",
        (T_MOD + "test_resolution_date_prefers_resolved_at_and_falls_back",),
    ),
    Fault(
        "model: lead time rounded instead of truncated",
        "macros/cross_db/minutes_between.sql",
        "timestampdiff(minute, {{ start }}, {{ end }})",
        "round(timestampdiff(second, {{ start }}, {{ end }}) / 60)",
        (T_MOD + "test_resolution_date_prefers_resolved_at_and_falls_back",),
    ),
    Fault(
        "model: upper median instead of lower",
        "macros/dora/lower_median.sql",
        "'floor((n - 1) / 2) + 1', 'median'",
        "'floor(n / 2) + 1', 'median'",
        (T_MOD + "test_mttr_monthly_lower_median_by_hand",),
    ),
    Fault(
        "model: start date exclusive",
        "models/intermediate/int_incidents_covered.sql",
        "and incidents.created_at >= scopes.start_date",
        "and incidents.created_at > scopes.start_date",
        (T_MOD + "test_the_lake_shows_exactly_what_the_scopes_cover",),
    ),
    Fault(
        "model: no board for a service missing from the listing",
        "models/intermediate/int_boards.sql",
        "    where service_id is not null\n    group by connection_id, service_id",
        "    where 1 = 0\n    group by connection_id, service_id",
        (T_MOD + "test_a_service_missing_from_the_listing_still_gets_its_board",),
    ),
    Fault(
        "level: <= instead of < in recovery_time_level (elite)",
        "macros/dora/recovery_time_level.sql",
        "when {{ minutes }} < 60 then 'elite'",
        "when {{ minutes }} <= 60 then 'elite'",
        (T_CFR + "test_recovery_time_levels_at_their_boundaries",),
    ),
    Fault(
        "level: <= instead of < in recovery_time_level (medium)",
        "macros/dora/recovery_time_level.sql",
        "when {{ minutes }} < 10080 then 'medium'",
        "when {{ minutes }} <= 10080 then 'medium'",
        (T_CFR + "test_recovery_time_levels_at_their_boundaries",),
    ),
    Fault(
        "level: < instead of <= in change_failure_rate_level (elite)",
        "macros/dora/change_failure_rate_level.sql",
        "when {{ rate }} <= {{ elite }} then 'elite'",
        "when {{ rate }} < {{ elite }} then 'elite'",
        ("-k", "levels_at_their_boundaries and elite", "tests/test_cfr.py"),
    ),
    Fault(
        "level: dora_report ignored",
        "macros/dora/change_failure_rate_level.sql",
        "{%- set report = var('dora_report', 2023) | string -%}",
        "{%- set report = '2023' -%}",
        (T_CFR + "test_cfr_levels_follow_the_dora_report",),
    ),
    Fault(
        "model: a multi-service change counted once per service",
        "models/intermediate/int_deployment_outcomes.sql",
        "    group by deployment_id\n",
        "    group by deployment_id, board_id\n",
        (T_CFR + "test_links_and_cfr_by_hand",),
    ),
    Fault(
        "model: an incident linked to a deployment finishing the same second",
        "models/intermediate/int_incident_deployment_links.sql",
        "partition by board_id order by at_time, kind, ordinal rows",
        "partition by board_id order by at_time, kind desc, ordinal rows",
        (T_CFR + "test_links_and_cfr_by_hand",),
    ),
    Fault(
        "model: a CSV deployment without connection_id matches no connection",
        "models/intermediate/int_deployment_boards.sql",
        "and (file.connection_id is null or boards.connection_id = file.connection_id)",
        "and boards.connection_id = file.connection_id",
        (T_CFR + "test_a_deployment_without_a_connection_counts_once_over_two_connections",),
    ),
    Fault(
        "model: merged incidents counted as restorations",
        "macros/dora/dora_incident_filter.sql",
        "        and {{ is_merged }} = 0",
        "        and 1 = 1",
        (T_CFR + "test_merged_incidents_are_not_restorations",),
    ),
    # ------------------------------------------------------------------------------------ runner and API
    Fault(
        "API: the Host check skipped",
        "runner/api/guard.py",
        'if not host or not (is_loopback_host(host) or host.rstrip(".") in self.allowed_hosts):',
        "if False:",
        ("tests/test_security.py::test_without_api_token_only_loopback_hosts_and_same_origin",),
    ),
    # ------------------------------------------------------ the first screen: numbers, report, CLI (issue 24)
    Fault(
        "views: the change failure rate rounded to 4 places in the view",
        "models/marts/dora/dora_cfr_monthly.sql",
        "    failed_deployments * 1e0 / deployments as change_failure_rate,",
        "    cast(failed_deployments * 1e0 / deployments as decimal(7, 4)) as change_failure_rate,",
        ("tests/test_cfr.py::test_links_and_cfr_by_hand",),
    ),
    Fault(
        "views: MTTR hours from whole minutes",
        "models/marts/dora/dora_mttr_monthly.sql",
        "    median / 3.6e3 as mttr_hours,",
        "    floor(median / 60) / 60e0 as mttr_hours,",
        ("tests/test_models.py::test_mttr_monthly_lower_median_by_hand",),
    ),
    Fault(
        "views: deployment frequency level: 5 days a week is not elite",
        "macros/dora/deployment_frequency_level.sql",
        "when {{ median_days_per_week }} >= 5 then 'elite'",
        "when {{ median_days_per_week }} > 5 then 'elite'",
        ("tests/test_cfr.py::test_deployment_frequency_levels_at_their_boundaries",),
    ),
    Fault(
        "views: deployment frequency weeks start on Sunday",
        "models/marts/dora/dora_deployment_frequency_monthly.sql",
        "cast(day - interval weekday(day) day as date) as week",
        "cast(day - interval (dayofweek(day) - 1) day as date) as week",
        ("tests/test_cfr.py::test_deployment_frequency_by_hand",),
    ),
    Fault(
        "report: the month not over yet is not marked partial",
        "runner/formats.py",
        "    return (month.year, month.month) >= (today.year, today.month)",
        "    return (month.year, month.month) > (today.year, today.month)",
        ("tests/test_report.py::test_the_page_shows_the_views_and_the_values_by_hand",),
    ),
    Fault(
        "report: the headline shows the partial month",
        "runner/report.py",
        "    if is_partial(data.last_month, data.today):\n        month = month_add(data.last_month, -1)",
        "    if False:\n        month = month_add(data.last_month, -1)",
        ("tests/test_report.py::test_the_headline_is_the_last_full_month_against_the_one_before",),
    ),
    Fault(
        "CLI: a read-only command creates the lake DB_URL names",
        "runner/cli.py",
        "database = replace(database, may_create=False)",
        "database = replace(database, may_create=True)",
        (
            "tests/test_cli_experience.py::test_a_read_only_command_on_a_lake_that_does_not_exist_exits_2_and_creates_nothing",
        ),
    ),
    Fault(
        "client: a refused connection retried as long as a timeout",
        "ingestion/pagerduty/client.py",
        "limit = min(limit, policy.unreachable_attempts)",
        "pass",
        (
            "tests/test_cli_experience.py::test_an_endpoint_that_refuses_says_so_at_each_retry_and_the_run_ends_promptly",
        ),
    ),
    Fault(
        "client: a 429 spends one of the attempts other failures get",
        "ingestion/pagerduty/client.py",
        "attempt, limit = throttled, policy.rate_limited_attempts",
        "failed += 1\n                attempt, limit = failed, policy.max_attempts",
        ("tests/test_ingestion.py::test_bare_429_without_headers_backs_off",),
    ),
    Fault(
        "client: the policy's limit on 429s is not the one applied",
        "ingestion/pagerduty/client.py",
        "attempt, limit = throttled, policy.rate_limited_attempts",
        "attempt, limit = throttled, 20",
        ("tests/test_ingestion.py::test_a_rate_limit_that_never_lifts_fails_with_its_cause",),
    ),
    Fault(
        "client: retries print no progress line and leave the pipeline's message as it was",
        "ingestion/pagerduty/client.py",
        "if note and self.on_retry is not None:",
        "if False:",
        ("tests/test_cli_experience.py::test_the_api_shows_the_retries_and_the_progress_of_a_pipeline",),
    ),
    Fault(
        "dbt: staging models built into the lake BI tools read",
        "dbt_project.yml",
        "    staging:\n      +materialized: view\n      +schema: staging\n",
        "    staging:\n      +materialized: view\n",
        ("tests/test_models.py::test_staging_and_intermediate_models_live_apart_from_what_bi_tools_read",),
    ),
    Fault(
        "dbt: what an older release built in the lake is left there",
        "dbt_project.yml",
        'on-run-end:\n  - "{{ drop_relations_moved_away() }}"\n',
        "on-run-end:\n",
        ("tests/test_models.py::test_staging_and_intermediate_models_live_apart_from_what_bi_tools_read",),
    ),
    Fault(
        "serve: the access log keeps the query string",
        "runner/api/access_log.py",
        '            path = scope.get("path", "")',
        '            path = scope.get("path", "") + "?" + scope.get("query_string", b"").decode("latin-1")',
        ("tests/test_cli_experience.py::test_serve_logs_one_json_line_per_request_without_query_strings",),
    ),
    Fault(
        "schedule: a stop between runs handled as one during a run",
        "runner/commands/blueprint_runs.py",
        "        if self.running:\n            raise KeyboardInterrupt",
        "        if True:\n            raise KeyboardInterrupt",
        ("tests/test_cli_experience.py::test_schedule_stopped_between_runs_is_a_normal_stop",),
    ),
    Fault(
        "schedule: a stop during a run waits for the run to end",
        "runner/commands/blueprint_runs.py",
        "        stops.running = True\n",
        "        stops.running = False\n",
        ("tests/test_cli_experience.py::test_schedule_stopped_during_a_run_is_an_interrupted_run",),
    ),
    Fault(
        "CLI: an option without help text",
        "runner/commands/report.py",
        'help="the page to write (default report.html)"',
        'help=""',
        ("tests/test_cli_experience.py::test_every_command_and_option_has_help_text",),
    ),
    Fault(
        "API: ALLOWED_HOSTS matched as a suffix (xdevlake passes as devlake)",
        "runner/api/guard.py",
        'host.rstrip(".") in self.allowed_hosts',
        'any(host.rstrip(".").endswith(name) for name in self.allowed_hosts)',
        ("tests/test_security.py::test_allowed_hosts_let_a_reverse_proxy_name_in",),
    ),
    Fault(
        "settings: ALLOWED_HOSTS taken without checking each name",
        "runner/settings.py",
        "        if not _HOST_NAME.match(name):",
        "        if False:",
        ("tests/test_security.py::test_allowed_hosts_let_a_reverse_proxy_name_in",),
    ),
    Fault(
        "API: the Origin check skipped",
        "runner/api/guard.py",
        "if origin is not None and not same_origin(origin, host_header):",
        "if False:",
        ("tests/test_security.py::test_without_api_token_only_loopback_hosts_and_same_origin",),
    ),
    Fault(
        "API: API_TOKEN not compared",
        "runner/api/guard.py",
        "if not hmac.compare_digest(given, self.expected):",
        "if False:",
        ("tests/test_api.py::test_api_token_guards_everything_but_ping",),
    ),
    Fault(
        "runner: six-field cron read with seconds last",
        "runner/cron.py",
        "second_at_beginning=len(expression.split()) == 6",
        "second_at_beginning=False",
        (T_UNIT + "test_next_fire_on_lopsided_expressions",),
    ),
    Fault(
        "runner: records of dead CLI runs stay TASK_RUNNING",
        "runner/pipeline_records.py",
        "                    if cur.fetchone()[0] != 1:\n                        continue",
        "                    if True:\n                        continue",
        ("tests/test_api.py::test_restart_marks_abandoned_pipelines_failed",),
    ),
    Fault(
        "API: the scheduler fires disabled blueprints",
        "runner/api/scheduler.py",
        'if blueprint.get("enable", True) is not True or blueprint.get("isManual", True) is not False:',
        'if blueprint.get("isManual", True) is not False:',
        ("tests/test_api.py::test_cron_blueprint_fires_on_its_own",),
    ),
    Fault(
        "runner: pipeline records stamped in the process's local time",
        "runner/lake_tables.py",
        'these tables hold."""\n    return datetime.now(UTC).replace(tzinfo=None)',
        'these tables hold."""\n    return datetime.now()',
        ("tests/test_time_zones.py",),
    ),
    Fault(
        "runner: a start_date in the future accepted",
        "runner/blueprints.py",
        'problems.append(f"{where}: {shown} is in the future")',
        "pass",
        ("-k", "test_bad_blueprints_name_the_problem", "tests/test_runner_inputs.py"),
    ),
    # ------------------------------------------------- the lake equals PagerDuty over months (issue 22)
    Fault(
        "paging: a listing without total stops after its first page",
        "ingestion/pagerduty/paging.py",
        '    while body.get("more") and items:',
        "    while False:",
        (T_ING + "test_a_listing_that_ignores_total_is_read_completely",),
    ),
    Fault(
        "paging: a window without total that reaches 10,000 is dropped, not halved",
        "ingestion/pagerduty/paging.py",
        '                        split(window, f"more than {settings.MAX_OFFSET_PLUS_LIMIT}")',
        "                        pass",
        (T_ING + "test_a_listing_that_ignores_total_is_read_completely",),
    ),
    Fault(
        "client: the second wording of the 10,000 ceiling is not recognised",
        "ingestion/pagerduty/client.py",
        '("offset+limit exceeds maximum allowed value", "offset must be less than")',
        '("offset+limit exceeds maximum allowed value",)',
        (T_ING + "test_both_wordings_of_the_10000_ceiling_are_understood",),
    ),
    Fault(
        "client: a 429 is not retried (a bare one with no headers or body fails the load)",
        "ingestion/pagerduty/settings.py",
        "RETRY_STATUS_CODES = (429, 500, 502, 503, 504)",
        "RETRY_STATUS_CODES = (500, 502, 503, 504)",
        (T_ING + "test_bare_429_without_headers_backs_off",),
    ),
    Fault(
        "records: a null urgency loaded as high",
        "ingestion/pagerduty/records.py",
        '"urgency": incident.get("urgency"),',
        '"urgency": incident.get("urgency") or "high",',
        (T_DRIFT + "test_renamed_priorities_and_services_reach_every_incident_after_one_ordinary_run",),
    ),
    Fault(
        "model: the priority name the incident carried wins over the scheme's current one",
        "models/intermediate/int_incidents_named.sql",
        "coalesce(priorities.priority_name, incidents.priority_name) as priority_name",
        "coalesce(incidents.priority_name, priorities.priority_name) as priority_name",
        (T_DRIFT + "test_renamed_priorities_and_services_reach_every_incident_after_one_ordinary_run",),
    ),
    Fault(
        "model: the service name the incident carried wins over the listing's current one",
        "models/intermediate/int_incidents_named.sql",
        "coalesce(services.service_name, incidents.service_name) as service_name",
        "coalesce(incidents.service_name, services.service_name) as service_name",
        (T_DRIFT + "test_renamed_priorities_and_services_reach_every_incident_after_one_ordinary_run",),
    ),
    Fault(
        "incremental: a renamed priority does not mark its incidents changed",
        "macros/incremental/changed_incidents.sql",
        "on renamed.connection_id = carrying.connection_id and renamed.id = carrying.priority_id",
        "on renamed.connection_id = carrying.connection_id and 1 = 0",
        (T_DRIFT + "test_renamed_priorities_and_services_reach_every_incident_after_one_ordinary_run",),
    ),
    Fault(
        "source: incidents named by log entries are not read again (a reopen is missed)",
        "ingestion/pagerduty/__init__.py",
        "if held[incident_id] <= at + settings.READ_AFTER_CHANGE_MARGIN:",
        "if False:",
        (T_DRIFT + "test_a_reopened_incident_counts_once_in_the_month_of_its_last_resolution",),
    ),
    Fault(
        "reconcile: only the incidents created since the cut-off are listed again",
        "ingestion/pagerduty/__init__.py",
        "                since = min(since, max(self.start_date, self.reconcile_since))\n",
        "                pass\n",
        (T_DRIFT + "test_reconcile_finds_and_heals_what_no_log_entry_records",),
    ),
    Fault(
        "reconcile: incidents the listing lacks are not read by id (gone ones stay)",
        "ingestion/pagerduty/__init__.py",
        "                yield from self._read_missing(since)\n",
        "                pass\n",
        (T_DRIFT + "test_reconcile_finds_and_heals_what_no_log_entry_records",),
    ),
    Fault(
        "incremental: incidents a reconcile removed stay in the models",
        "macros/incremental/changed_incidents.sql",
        "    where {{ in_load_window('deleted.load_seq', fingerprint_vars) }}",
        "    where 1 = 0",
        (T_DRIFT + "test_reconcile_finds_and_heals_what_no_log_entry_records",),
    ),
    Fault(
        "reconcile: title drift not counted",
        "ingestion/raw_store.py",
        '"title": "NOT (v.title <=> c.title)",',
        '"title": "0",',
        (T_DRIFT + "test_reconcile_finds_and_heals_what_no_log_entry_records",),
    ),
    Fault(
        "raw store: unchanged objects written again (a reconcile with no drift changes rows)",
        "ingestion/raw_store.py",
        'return {row["id"] for row in rows if held.get(row["id"]) == row["content_hash"]}',
        "return set()",
        (T_DRIFT + "test_reconcile_finds_and_heals_what_no_log_entry_records",),
    ),
    Fault(
        "API: fullSync in the trigger body ignored",
        "runner/api/app.py",
        "return SyncPolicy(full_sync=self.fullSync, skip_collectors=self.skipCollectors)",
        "return SyncPolicy(full_sync=False, skip_collectors=self.skipCollectors)",
        (T_DRIFT + "test_the_api_triggers_a_full_sync_and_a_models_only_run",),
    ),
    Fault(
        "schedule: never reconciles",
        "runner/commands/blueprint_runs.py",
        "return last is None or now.replace(tzinfo=None) - last >= timedelta(days=every_days)",
        "return False",
        (T_DRIFT + "test_schedule_reconciles_every_n_days_in_place_of_that_days_run",),
    ),
    Fault(
        "contract: the simulator drifts from the document (incident_number rendered as text)",
        "simulator/render.py",
        '        "incident_number": number,',
        '        "incident_number": str(number),',
        (T_CONTRACT + "test_every_answer_of_the_simulator_validates",),
    ),
    Fault(
        "simulator: a merge writes annotate_log_entry again, not link_log_entry",
        "simulator/catalog.py",
        '    "link_log_entry",\n    "unlink_log_entry",\n    "notify_log_entry",',
        '    "annotate_log_entry",\n    "unlink_log_entry",\n    "notify_log_entry",',
        (T_ING + "test_edits_after_resolution_merges_and_moves_arrive_in_one_rerun",),
    ),
    # ---------------------------------------------------- orderings, ties and cut-offs (issue 27)
    Fault(
        "source: the first log entry of an incident decides, not the latest",
        "ingestion/pagerduty/__init__.py",
        "(incident_id not in latest or at >= latest[incident_id][0])",
        "(incident_id not in latest)",
        (T_ING + "test_the_latest_log_entry_of_an_incident_decides_whether_it_is_read_again",),
    ),
    Fault(
        "raw store: the version read first in a load becomes current",
        "ingestion/raw_store.py",
        '        " ORDER BY version_id DESC",',
        '        " ORDER BY version_id ASC",',
        (T_ING + "test_the_version_read_last_in_a_load_is_the_current_row",),
    ),
    Fault(
        "raw store: a load completing late replaces a newer version",
        "ingestion/raw_store.py",
        """f" WHERE v.load_id = %s AND {order.format(a='v')} >= {order.format(a='c')}",""",
        """f" WHERE v.load_id = %s AND 1 = 1",""",
        (T_ING + "test_a_load_completing_late_does_not_replace_a_newer_version",),
    ),
    Fault(
        "raw store: at the same updated_at the load completed first wins",
        "ingestion/raw_store.py",
        """{order.format(a='v')} >= {order.format(a='c')}",""",
        """{order.format(a='v')} > {order.format(a='c')}",""",
        (T_ING + "test_a_load_completing_late_does_not_replace_a_newer_version",),
    ),
    Fault(
        "source: the cut-off does not advance after the first run",
        "ingestion/pagerduty/__init__.py",
        "            incidents_until=now,",
        "            incidents_until=state.incidents_until or now,",
        (T_ING + "test_cut_offs_advance_run_after_run",),
    ),
    Fault(
        "model: same-second deployments numbered by id descending",
        "models/intermediate/int_deployment_boards.sql",
        "order by deployments.finished_at, deployed.deployment_id",
        "order by deployments.finished_at, deployed.deployment_id desc",
        (T_CFR + "test_two_deployments_finishing_in_the_same_second_link_by_the_rules_tie_break",),
    ),
    Fault(
        "runner: a failed dbt build is a successful run",
        "runner/orchestration.py",
        "        if not run.dbt.success:\n            run.exit_code = EXIT_FAILED",
        "        if False:\n            run.exit_code = EXIT_FAILED",
        ("tests/test_dbt_failures.py::test_run_exits_1_and_names_the_failing_model",),
    ),
    Fault(
        "paging: the upper half of a split window starts a second late",
        "ingestion/pagerduty/paging.py",
        "        first(_Window(middle, window.end))",
        "        first(_Window(middle + timedelta(seconds=1), window.end))",
        (T_ING + "test_split_windows_lose_nothing_at_their_split_points[()]",),
    ),
    Fault(
        "source: no overlap with the previous run (an incident indexed late is lost)",
        "ingestion/pagerduty/settings.py",
        "INCREMENTAL_OVERLAP = timedelta(minutes=10)",
        "INCREMENTAL_OVERLAP = timedelta(0)",
        (T_ING + "test_an_incident_that_reaches_the_listing_late_is_loaded",),
    ),
    Fault(
        "incremental: log entries alone do not mark an incident changed",
        "macros/incremental/changed_incidents.sql",
        "        where {{ in_load_window('load_seq', fingerprint_vars) }} and incident_id is not null",
        "        where 1 = 0 and incident_id is not null",
        ("tests/test_end_to_end.py::test_log_entries_alone_mark_an_incident_changed",),
    ),
    # ---- API security, round 3
    Fault(
        "round 3: the token's authenticated data leaves out the proxy",
        "runner/connections/crypto.py",
        '        parts.append(binding.proxy or "")\n',
        "        pass\n",
        ("tests/test_stored_secrets.py::test_proxy_and_name_are_bound_to_the_token",),
    ),
    Fault(
        "round 3: the authenticated data leaves out the connection's name",
        "runner/connections/crypto.py",
        "field, str(int(binding.connection_id)), binding.name]",
        "field, str(int(binding.connection_id))]",
        ("tests/test_stored_secrets.py::test_proxy_and_name_are_bound_to_the_token",),
    ),
    Fault(
        "round 3: the upgrade does not record that it ran (the key check is left as it was)",
        "runner/connections/store.py",
        "            store_params(cur, params, cipher.key_check(params), utc_now(), replace=True)\n"
        "        return count",
        "        return count",
        ("tests/test_stored_secrets.py::test_the_previous_binding_is_upgraded_once",),
    ),
    Fault(
        "round 3: connections resolve the name again instead of connecting to the checked address",
        "ingestion/pagerduty/pinned.py",
        "    class PinnedHTTPConnection(HTTPConnection):\n        def _new_conn(self) -> socket.socket:\n"
        "            return _connect(self, addresses)",
        "    class PinnedHTTPConnection(HTTPConnection):\n        def _new_conn(self) -> socket.socket:\n"
        "            return super()._new_conn()",
        ("tests/test_upstream.py::test_a_name_is_resolved_once_and_that_address_connected_to",),
    ),
    Fault(
        "round 3: the addresses a name resolves to are connected to unchecked",
        "ingestion/pagerduty/endpoints.py",
        "    if not all(_allowed(address, allow_private) for address in found):",
        "    if False:",
        ("tests/test_upstream.py::test_a_name_is_resolved_once_and_that_address_connected_to",),
    ),
    Fault(
        "round 3: IPv4-compatible and translated IPv6 addresses not unpacked",
        "ingestion/pagerduty/endpoints.py",
        '        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765)\n',
        "",
        ("tests/test_upstream.py::test_ipv4_inside_ipv6_is_judged_by_the_ipv4_rules",),
    ),
    Fault(
        "round 3: the masked token sent back is saved as the token",
        "runner/connections/store.py",
        "                if new_token == MASK:\n",
        "                if False:\n",
        ("tests/test_api.py::test_a_connection_read_and_sent_back_keeps_its_token",),
    ),
    Fault(
        "round 3: the masked proxy sent back is saved as the proxy",
        "runner/connections/store.py",
        'if "proxy" in changes and changes["proxy"] != mask_url(proxy):',
        'if "proxy" in changes:',
        ("tests/test_api.py::test_a_connection_read_and_sent_back_keeps_its_token",),
    ),
    Fault(
        "round 3: an error body's text reaches the pipeline's message",
        "ingestion/pagerduty/upstream.py",
        '    return f"HTTP {status // 100}xx ({kind}{detail})"',
        '    return f"HTTP {status // 100}xx ({kind}{detail}): {body.decode()}"',
        ("tests/test_upstream.py::test_an_error_body_is_never_echoed_to_api_callers",),
    ),
    Fault(
        "round 3: blueprints saved however deep",
        "runner/api/blueprint_body.py",
        "        if depth > MAX_DEPTH:",
        "        if False:",
        (
            "tests/test_stored_input.py::test_deep_and_lone_surrogate_blueprints_are_refused_and_never_break_listing",
        ),
    ),
    Fault(
        "round 3: no deadline for a request's headers",
        "runner/api/slow_clients.py",
        '{"headers": self.header_seconds, "body": self.body_seconds}',
        '{"body": self.body_seconds}',
        ("tests/test_stored_input.py::test_slow_clients_are_cut_off_and_ping_keeps_answering",),
    ),
    # ---- dashboards and compose (issue 24)
    Fault(
        "by project: every incident counts in every project (MTTR)",
        "models/marts/dora/dora_mttr_monthly_by_project.sql",
        "inner join {{ ref('int_project_boards') }} as projects on projects.board_id = incidents.board_id",
        "inner join {{ ref('int_project_boards') }} as projects on 1 = 1",
        ("tests/test_dashboards.py::test_the_by_project_views_equal_devlakes_tables_worked_out_by_hand",),
    ),
    Fault(
        "by project: a deployment of several of a project's services counts once for each (CFR)",
        "models/marts/dora/dora_cfr_monthly_by_project.sql",
        "    select distinct projects.project_name, boards.deployment_id",
        "    select projects.project_name, boards.deployment_id",
        ("tests/test_dashboards.py::test_the_by_project_views_equal_devlakes_tables_worked_out_by_hand",),
    ),
    Fault(
        "by project: recoveries of every service count in every project",
        "models/marts/dora/dora_failed_deployment_recovery_time_monthly_by_project.sql",
        "inner join {{ ref('int_project_boards') }} as projects on projects.board_id = incidents.board_id",
        "inner join {{ ref('int_project_boards') }} as projects on 1 = 1",
        ("tests/test_dashboards.py::test_the_by_project_views_equal_devlakes_tables_worked_out_by_hand",),
    ),
    Fault(
        "dashboards: the datasource variable is not set by the import (a uid written instead)",
        "dashboards/grafana/dashboards/dora-overview.json",
        '"value": "${DS_LAKE}"',
        '"value": "pagerduty-lake"',
        ("tests/test_dashboards.py::test_dashboard_imports_by_hand_and_provisions",),
    ),
    Fault(
        "dashboards: the incidents count ignores $project",
        "dashboards/grafana/dashboards/incidents.json",
        "AND board_issues.board_id IN (SELECT row_id FROM project_mapping"
        " WHERE `table` = 'boards' AND project_name IN (${project:sqlstring}))"
        ' AND $__timeFilter(issues.created_date)"',
        'AND $__timeFilter(issues.created_date)"',
        ("tests/test_dashboards.py::test_incident_panels_count_and_link_to_pagerduty",),
    ),
    Fault(
        "dashboards: the service variable offers services outside the chosen projects",
        "dashboards/grafana/dashboards/service.json",
        '"query": "SELECT name AS __text, id AS __value FROM boards WHERE id IN',
        '"query": "SELECT name AS __text, id AS __value FROM boards WHERE 1 = 1 OR id IN',
        ("tests/test_dashboards.py::test_service_panels_show_the_views_for_the_chosen_project_and_service",),
    ),
    Fault(
        "dashboards: the overview's latest month is the oldest",
        "dashboards/grafana/dashboards/dora-overview.json",
        "ORDER BY month DESC) AS newest FROM dora_mttr_monthly_by_project",
        "ORDER BY month) AS newest FROM dora_mttr_monthly_by_project",
        ("tests/test_dashboards.py::test_overview_panels_show_the_views",),
    ),
    Fault(
        "dashboards: hours to resolve shown unrounded (the override names no column)",
        "dashboards/grafana/dashboards/incidents.json",
        '"options": "hours_to_resolve"',
        '"options": "hours_to_resolv"',
        ("tests/test_dashboards.py::test_every_panel_runs_on_the_lake",),
    ),
    Fault(
        "Dockerfile: runs as root",
        "Dockerfile",
        "USER 10001:10001\n",
        "",
        ("tests/test_docker.py::test_dockerfile_base_image_user_command_and_health_check",),
    ),
    Fault(
        "Dockerfile: the health check asks a route that does not answer",
        "Dockerfile",
        "http://127.0.0.1:8080/ping",
        "http://127.0.0.1:8080/health",
        ("tests/test_docker.py::test_the_image_builds_in_a_plain_shell_and_serves",),
    ),
    Fault(
        "Dockerfile: dbt's macros are not copied",
        "Dockerfile",
        "COPY macros/ macros/\n",
        "",
        ("tests/test_docker.py::test_the_image_builds_in_a_plain_shell_and_serves",),
    ),
    Fault(
        "Dockerfile: pip installs without constraints.txt",
        "Dockerfile",
        "RUN pip install --quiet -r requirements.txt -c constraints.txt",
        "RUN pip install --quiet -r requirements.txt",
        ("tests/test_docker.py::test_dockerfile_installs_as_make_install_does",),
    ),
    # ------------------------------------------------------------------ the adapter (adapters/dbt-mysql8)
    Fault(
        "adapter: seeds' integer columns become double",
        _ADAPTER + "adapters/mysql8/impl.py",
        'return "double" if decimals else "bigint"',
        'return "double"',
        (T_ADAPTER + "TestDocsGenerate",),
    ),
    Fault(
        "adapter: delete+insert deletes none of the old rows",
        _ADAPTER + "include/mysql/macros/materializations/incremental.sql",
        "  {%- if unique_key -%}\n    {%- set keys",
        "  {%- if false -%}\n    {%- set keys",
        (T_ADAPTER + "TestIncrementalUniqueKey",),
    ),
    Fault(
        "adapter: the catalog drops each table's first column",
        _ADAPTER + "include/mysql/macros/catalog.sql",
        "        and columns.table_name = tables.table_name\n",
        "        and columns.table_name = tables.table_name and columns.ordinal_position > 1\n",
        (T_ADAPTER + "TestDocsGenerate",),
    ),
    Fault(
        "adapter: a snapshot closes none of the changed rows",
        _ADAPTER + "include/mysql/macros/materializations/snapshot.sql",
        "dbt_internal_source.dbt_change_type in ('update', 'delete')",
        "dbt_internal_source.dbt_change_type in ('none')",
        (T_ADAPTER + "TestSnapshotTimestamp",),
    ),
    Fault(
        "adapter: nodes carry a database, which the catalog's rows do not",
        _ADAPTER + "include/mysql/macros/adapters.sql",
        "node=none) -%}\n  {{ return(none) }}",
        "node=none) -%}\n  {{ return('') }}",
        (T_MOD + "test_every_model_and_column_is_documented",),
    ),
    Fault(
        "dbt --empty: refs keep dbt's alias, which MySQL refuses after the model's",
        "macros/empty_refs.sql",
        "builtins.ref(*varargs, **kwargs) -%}\n"
        "  {{ return(relation if model.get('test_metadata') else relation.without_limit_alias()) }}",
        "builtins.ref(*varargs, **kwargs) -%}\n  {{ return(relation) }}",
        (T_MOD + "test_an_empty_build_runs_every_model_and_test_with_no_deprecation",),
    ),
    Fault(
        "dbt: a generic test's arguments at the top level (deprecated since dbt 1.10)",
        "models/marts/devlake/_devlake__models.yml",
        '          - accepted_values:\n              arguments:\n                values: ["high", "low"]',
        '          - accepted_values:\n              values: ["high", "low"]',
        (T_MOD + "test_an_empty_build_runs_every_model_and_test_with_no_deprecation",),
    ),
    Fault(
        "contract: a DevLake column declared with another type",
        "models/marts/devlake/_devlake__models.yml",
        "name: name\n        data_type: varchar(255)\n        description: The change event's summary",
        "name: name\n        data_type: bigint\n        description: The change event's summary",
        (T_MOD + "test_devlake_tables_have_their_declared_column_types",),
    ),
    Fault(
        "compose: Grafana starts before the project is healthy",
        "docker-compose.yml",
        "      pagerduty-dora:\n        condition: service_healthy",
        "      pagerduty-dora:\n        condition: service_started",
        ("tests/test_docker.py::test_compose_runs_the_whole_stack",),
    ),
    # ---------------------------------------------------------------------------- response analytics
    Fault(
        "incremental: a user's new time zone leaves the pages they received judged in the old one",
        "macros/incremental/changed_responses.sql",
        "{%- if users_changed or zones_changed -%}",
        "{%- if false -%}",
        (
            "tests/test_end_to_end.py::test_a_responder_who_moves_zone_is_judged_in_the_new_zone_by_the_next_run",
        ),
    ),
    Fault(
        "incremental: the response rows of a changed incident are added again beside the old ones",
        "macros/incremental/changed_responses.sql",
        """        "{{ reset_load_window() }}",\n        "{{ delete_changed_responses() }}",\n""",
        """        "{{ reset_load_window() }}",\n""",
        ("tests/test_end_to_end.py::test_two_runs_with_what_real_accounts_do_in_between",),
    ),
    Fault(
        "incremental: a page about an incident no scope covers is never added by a rerun",
        "macros/incremental/changed_responses.sql",
        "' as entries where '",
        "' as entries where 1 = 0 and '",
        ("tests/test_end_to_end.py::test_two_runs_with_what_real_accounts_do_in_between",),
    ),
    Fault(
        "incremental: no changed incident is staged (a rerun changes no response row)",
        "macros/incremental/changed_responses.sql",
        "    {{ changed_response_keys() }}\n",
        "",
        (
            "tests/test_end_to_end.py::test_a_responder_who_moves_zone_is_judged_in_the_new_zone_by_the_next_run",
        ),
    ),
    Fault(
        "incremental: the response facts read only the incidents whose own row changed",
        "models/intermediate/int_incident_responses.sql",
        "    {{ join_changed_responses('int_incidents_covered') }}",
        "    {{ join_changed('int_incidents_covered') }}",
        (
            "tests/test_end_to_end.py::test_a_responder_who_moves_zone_is_judged_in_the_new_zone_by_the_next_run",
        ),
    ),
    Fault(
        "response: interruptions judged in UTC, not in the notified user's time zone",
        "models/intermediate/int_notifications_localized.sql",
        "interval coalesce(zoned.utc_offset_seconds, 0) second",
        "interval 0 second",
        (T_FACTS,),
    ),
    Fault(
        "response: every escalation counted as a timeout escalation (manual ones too)",
        "models/intermediate/int_incident_responses.sql",
        "when entry_type = 'escalate_log_entry' and channel_type = 'timeout' then 1",
        "when entry_type = 'escalate_log_entry' then 1",
        (T_FACTS,),
    ),
    Fault(
        "response: the last acknowledgement instead of the first",
        "models/intermediate/int_incident_responses.sql",
        "select connection_id, incident_id, agent_id as user_id, min(created_at) as first_ack_at",
        "select connection_id, incident_id, agent_id as user_id, max(created_at) as first_ack_at",
        (T_FACTS,),
    ),
    Fault(
        "response: a user notified twice for one incident counts two interruptions",
        "models/intermediate/int_incident_responses.sql",
        "    from first_pages\n    where page_of_user = 1",
        "    from first_pages\n    where page_of_user >= 1",
        (T_FACTS,),
    ),
    Fault(
        "response: weekends are not off hours",
        "macros/response/interruption_hours.sql",
        "when weekday({{ local_at }}) >= 5 or hour({{ local_at }}) >= 18 then 'off'",
        "when hour({{ local_at }}) >= 18 then 'off'",
        (T_FACTS,),
    ),
    Fault(
        "response: a snooze ends only at the resolution (its unacknowledge ignored)",
        "models/intermediate/int_incident_responses.sql",
        "where entry_type in ('snooze_log_entry', 'unacknowledge_log_entry', 'resolve_log_entry')",
        "where entry_type in ('snooze_log_entry', 'resolve_log_entry')",
        (T_FACTS,),
    ),
    Fault(
        "response: reopens not counted",
        "models/intermediate/int_incident_responses.sql",
        "greatest(coalesce(counts.triggers, 0) - 1, 0)",
        "greatest(coalesce(counts.triggers, 0) - 1, 0) * 0",
        (T_FACTS,),
    ),
    Fault(
        "response: resolved by the service read as resolved by a user (auto_resolved inverted)",
        "models/intermediate/int_incident_responses.sql",
        "when last_resolves.agent_type like 'user%' then 0",
        "when last_resolves.agent_type like 'service%' then 0",
        (T_FACTS,),
    ),
    Fault(
        "response: seconds_to_mobilize for a single responder",
        "models/intermediate/int_incident_responses.sql",
        "        when acks.engaged_user_count > 1\n            then greatest(",
        "        when acks.engaged_user_count > 0\n            then greatest(",
        (T_FACTS,),
    ),
    Fault(
        "response: the p90 takes the rank below (floor, not ceiling)",
        "macros/response/interruption_hours.sql",
        "'greatest(ceiling(' ~ fraction",
        "'greatest(floor(' ~ fraction",
        (T_VIEWS,),
    ),
    Fault(
        "time zones: daylight saving time ignored (a zone's offset of 2000 all along)",
        "ingestion/pagerduty/time_zones.py",
        "        if _offset(zone, following) != current:",
        "        if False:",
        (T_VIEWS,),
    ),
    Fault(
        "ingestion: a first load reads no log entries (history_since defaults to now)",
        "ingestion/pagerduty/__init__.py",
        "max(start_date, history_since) if history_since is not None else start_date",
        "max(start_date, history_since) if history_since is not None else now",
        (T_VIEWS,),
    ),
    Fault(
        "models: delegate entries do not assign",
        "macros/incident_assignments.sql",
        "('assign_log_entry', 'escalate_log_entry', 'delegate_log_entry')",
        "('assign_log_entry', 'escalate_log_entry')",
        (T_VIEWS,),
    ),
    Fault(
        "simulator: notify entries do not name the user notified",
        "simulator/render.py",
        '        entry["user"] = ent.user_refs[assignees[0]]\n',
        "",
        (T_FACTS,),
    ),
    Fault(
        "report: MTTA's change compares with no month before the report's first",
        "runner/report_response.py",
        "read_mtta(rows, boards, whole_lake, _previous(first), last)",
        "read_mtta(rows, boards, whole_lake, first, last)",
        (
            "tests/test_report.py::test_the_response_section_shows_mtta_with_its_change_sleepers_and_noisy_services",
        ),
    ),
)

COPY_EXCLUDE = {
    ".venv",
    "target",
    "dbt_packages",
    "logs",
    ".git",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
}


def source_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    files = [f for f in out.split("\0") if f]
    return [f for f in files if not set(Path(f).parts) & COPY_EXCLUDE and (ROOT / f).is_file()]


def make_copy(dest: Path, files: list[str]) -> None:
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def check_patches(faults: tuple[Fault, ...]) -> list[str]:
    problems = []
    for fault in faults:
        path = ROOT / fault.path
        if not path.is_file():
            problems.append(f"{fault.name}: {fault.path} does not exist")
            continue
        count = path.read_text().count(fault.old)
        if count != 1:
            problems.append(f"{fault.name}: the old string occurs {count} times in {fault.path}, not once")
    return problems


SPEC = ROOT.parent / "shared" / "reference" / "pagerduty-openapi.json"
"""PagerDuty's API description beside the project: the scratch copies' contract tests read it from here."""


def run_tests(copy: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, str, float]:
    """('passed' | 'failed' | 'error' | 'timeout', the first failing line, seconds)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if SPEC.is_file():
        env.setdefault("PAGERDUTY_OPENAPI_SPEC", str(SPEC))
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-rfEs", *tests]
    started = time.monotonic()
    try:
        result = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", f"over {timeout:.0f} s", time.monotonic() - started
    seconds = time.monotonic() - started
    lines = result.stdout.splitlines()
    first = next((ln for ln in lines if ln.startswith(("FAILED", "ERROR"))), lines[-1] if lines else "")
    summary = lines[-1] if lines else ""
    if result.returncode == 0:
        # a skipped test proves nothing: the baseline reports it, a fault survives it
        return ("skipped" if "skipped" in summary else "passed"), summary, seconds
    if result.returncode == 1:
        return "failed", first, seconds
    return "error", (first or result.stderr.strip().splitlines()[-1:] or [""])[0], seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2, help="faults run side by side (default 2)")
    parser.add_argument(
        "--only", action="append", default=[], help="only the faults whose name contains this (repeatable)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the unpatched run of the tests")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per fault's tests")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies")
    args = parser.parse_args()

    wanted = [text.lower() for text in args.only]
    faults = tuple(f for f in FAULTS if not wanted or any(text in f.name.lower() for text in wanted))
    problems = check_patches(faults)
    if problems:
        for problem in problems:
            print(f"patch does not apply: {problem}", file=sys.stderr)
        return 2
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="pagerduty-mutation-"))
    base = scratch / "baseline"  # one snapshot of the work tree: edits made during the run do not leak in
    make_copy(base, source_files())
    try:
        if not args.no_baseline:
            node_ids = sorted({t for f in faults if "-k" not in f.tests for t in f.tests})
            selections = [f.tests for f in faults if "-k" in f.tests]
            jobs = max(1, args.jobs)  # the node ids in `jobs` groups, side by side with the -k selections
            groups = [tuple(node_ids[i::jobs]) for i in range(jobs) if node_ids[i::jobs]]
            groups += list(dict.fromkeys(selections))
            with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                outcomes = list(pool.map(lambda g: run_tests(base, g, args.timeout * 3), groups))
            bad = [(g, o) for g, o in zip(groups, outcomes, strict=True) if o[0] != "passed"]
            took = sum(o[2] for o in outcomes)
            if bad:
                for group, (status, line, _) in bad:
                    print(f"baseline {status}: {line} ({' '.join(group)[:200]})")
                print("the targeted tests do not pass unpatched: no fault is judged")
                return 1
            print(f"baseline: the targeted tests pass unpatched ({took:.0f} s of test time)", flush=True)

        def judge(item: tuple[int, Fault]) -> tuple[int, Fault, str, str, float]:
            index, fault = item
            copy = scratch / f"fault-{index:02d}"
            shutil.copytree(base, copy, ignore=shutil.ignore_patterns(*COPY_EXCLUDE))
            path = copy / fault.path
            path.write_text(path.read_text().replace(fault.old, fault.new, 1))
            status, line, seconds = run_tests(copy, fault.tests, args.timeout)
            if not args.keep:
                shutil.rmtree(copy, ignore_errors=True)
            verdict = "killed" if status in ("failed", "error", "timeout") else "SURVIVED"
            print(f"{verdict:8} {index:2d} {fault.name} ({seconds:.0f} s): {line[:160]}", flush=True)
            return index, fault, verdict, line, seconds

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(judge, enumerate(faults, 1)))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    killed = sum(1 for r in results if r[2] == "killed")
    survived = [r for r in results if r[2] != "killed"]
    for index, fault, _, _, _ in survived:
        print(f"survived: {index} {fault.name} ({fault.path}; tests {' '.join(fault.tests)})")
    print(f"killed {killed}/{len(results)} in {time.monotonic() - started:.0f} s")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
