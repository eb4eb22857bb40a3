"""Response analytics (issue 23): per-incident facts from log entries, checked against values computed by hand
from scripted simulator incidents, and every response view against an independent computation in Python over
a generated account. Real HTTP against the simulator, real loads into MariaDB, real dbt builds."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ingestion.raw_store import record_scopes
from runner.errors import InputError
from runner.settings import Settings
from runner.transform import run_dbt
from simulator import generate

from .helpers import lake, load, query, utc

END = datetime(2026, 10, 1, tzinfo=UTC)
START = datetime(2026, 6, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)
# user indexes of the simulated account (simulator/catalog.py, USER_TIME_ZONES)
NEW_YORK, LOS_ANGELES, ROME, BERLIN, TOKYO, DUBLIN = 0, 1, 2, 3, 7, 11

FACTS = (
    "seconds_to_first_ack, seconds_to_mobilize, seconds_to_engage, engaged_seconds, snoozed_seconds,"
    " escalation_count, timeout_escalation_count, manual_escalation_count, reassignment_count,"
    " engaged_user_count, total_notifications, business_hour_interruptions, off_hour_interruptions,"
    " sleep_hour_interruptions, total_interruptions, auto_resolved, reopen_count, seconds_to_resolve"
)


def build(database) -> None:
    outcome = run_dbt(database, ["build"])
    assert outcome.success, outcome.failures or outcome.error


def first_load(server, database) -> None:
    """One first load of connection 1 since START, and the scope that covers it, as run.py records it."""
    load(server, database, START)
    record_scopes(database, "response", "response", [(1, None, START)])


def test_per_incident_facts_match_the_log_entries_computed_by_hand(database, simulator) -> None:
    ds = generate(seed=3, size=5, services=2, days=30, end=END)
    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)  # noqa: E731

    # A: escalated twice by the policy's timeout, then acknowledged. Tuesday 1 Sep 2026, 14:00 UTC: 10:00 in
    # New York, 16:15 in Rome, 16:30 in Berlin (all business hours).
    a = ds.add_incident(at("2026-09-01T14:00:00"), 0, assignee=NEW_YORK)["incident_number"]
    ds.notify(a, NEW_YORK, at("2026-09-01T14:00:00"), ("sms",))
    ds.escalate(a, at("2026-09-01T14:15:00"), ROME, channels=("sms",))
    ds.escalate(a, at("2026-09-01T14:30:00"), BERLIN, channels=("sms", "phone"))
    ds.acknowledge(a, at("2026-09-01T14:35:00"), BERLIN)
    ds.resolve(a, at("2026-09-01T15:00:00"))

    # B: a responder in Asia/Tokyo paged at 02:00 on Tuesday their time (Monday 17:00 UTC: business hours in
    # UTC, sleep hours in Tokyo); they acknowledge, escalate by hand to New York (13:10 there), who
    # acknowledges too.
    b = ds.add_incident(at("2026-09-07T17:00:00"), 1, assignee=TOKYO)["incident_number"]
    ds.notify(b, TOKYO, at("2026-09-07T17:00:00"), ("sms", "push_notification"))
    ds.acknowledge(b, at("2026-09-07T17:05:00"), TOKYO)
    ds.escalate(b, at("2026-09-07T17:10:00"), NEW_YORK, by_user=TOKYO, channels=("push_notification",))
    ds.acknowledge(b, at("2026-09-07T17:12:00"), NEW_YORK)
    ds.resolve(b, at("2026-09-07T17:40:00"))

    # C: a Saturday page (17:00 in Berlin: off hours), never acknowledged, resolved by the service after 90 s
    c = ds.add_incident(at("2026-09-12T15:00:00"), 0, assignee=BERLIN)["incident_number"]
    ds.notify(c, BERLIN, at("2026-09-12T15:00:00"), ("push_notification",))
    ds.resolve(c, at("2026-09-12T15:01:30"), auto=True)

    # D: snoozed for an hour. Wednesday 9 Sep, 09:00 UTC (10:00 in Dublin): acknowledged after 2 minutes,
    # snoozed at 5 for 3600 s, unacknowledged at its end (65), notified again, acknowledged again (70),
    # resolved at 90 minutes.
    d = ds.add_incident(at("2026-09-09T09:00:00"), 1, assignee=DUBLIN)["incident_number"]
    ds.notify(d, DUBLIN, at("2026-09-09T09:00:00"), ("sms",))
    ds.acknowledge(d, at("2026-09-09T09:02:00"), DUBLIN)
    ds.snooze(d, at("2026-09-09T09:05:00"), 3600)
    ds.unacknowledge(d, at("2026-09-09T10:05:00"))
    ds.notify(d, DUBLIN, at("2026-09-09T10:05:00"), ("sms",))
    ds.acknowledge(d, at("2026-09-09T10:10:00"), DUBLIN)
    ds.resolve(d, at("2026-09-09T10:30:00"))

    # E: reopened. Thursday 10 Sep, 20:00 UTC (13:00 in Los Angeles): acknowledged at 10 minutes, resolved at
    # 20, reopened at 60 (a trigger and an assign entry by PagerDuty), notified, acknowledged at 65,
    # resolved at 80.
    e = ds.add_incident(at("2026-09-10T20:00:00"), 0, assignee=LOS_ANGELES)["incident_number"]
    ds.notify(e, LOS_ANGELES, at("2026-09-10T20:00:00"), ("push_notification",))
    ds.acknowledge(e, at("2026-09-10T20:10:00"), LOS_ANGELES)
    ds.resolve(e, at("2026-09-10T20:20:00"))
    ds.reopen(e, at("2026-09-10T21:00:00"))
    ds.notify(e, LOS_ANGELES, at("2026-09-10T21:00:00"), ("push_notification",))
    ds.acknowledge(e, at("2026-09-10T21:05:00"), LOS_ANGELES)
    ds.resolve(e, at("2026-09-10T21:20:00"))

    server = simulator(dataset=ds)
    first_load(server, database)
    build(database)
    rows = lake(
        database,
        f"SELECT incident_number, {FACTS} FROM response_incidents WHERE incident_number IN (%s, %s, %s, %s, %s)",
        a, b, c, d, e,
    )  # fmt: skip
    got = {row[0]: row[1:] for row in rows}
    # fmt: off
    expected = {
        #    first_ack  mobilize engage engaged  snoozed esc tmo man reas users notif bus off sleep tot auto reop resolve
        a: (2100,       None,    None,  1500,    0,      2,  2,  0,  0,   1,    4,    3,  0,  0,    3,  0,   0,   3600),
        b: (300,        720,     420,   3780,    0,      1,  0,  1,  0,   2,    3,    1,  0,  1,    2,  0,   0,   2400),
        c: (None,       None,    None,  None,    0,      0,  0,  0,  0,   0,    1,    0,  1,  0,    1,  1,   0,   90),
        d: (120,        None,    None,  5280,    3600,   0,  0,  0,  0,   1,    2,    1,  0,  0,    1,  0,   0,   5400),
        e: (600,        None,    None,  4200,    0,      0,  0,  0,  0,   1,    2,    1,  0,  0,    1,  0,   1,   4800),
    }
    # fmt: on
    # A: acknowledged 35 min after creation (2100 s) by Berlin, engaged until the resolution at 60 (1500 s);
    #    notifications: New York sms, Rome sms, Berlin sms + phone = 4; three users, each once, business.
    # B: Tokyo at 5 min (300 s), New York at 12 (720 s: mobilize), 420 s between them (engage); engaged
    #    (2400 - 300) + (2400 - 720) = 3780 s; Tokyo sms + push and New York push = 3 notifications; Tokyo
    #    asleep (02:00 Tuesday there), New York in business hours; one escalation, by hand.
    # C: resolved by the service after 90 s (auto-resolved); Saturday 17:00 in Berlin is off hours.
    # D: the first acknowledgement (2 min), not the last (70 min); snoozed 3600 s; notified twice, one
    #    interruption; engaged from 120 s to 5400 s.
    # E: one reopen; first acknowledged at 10 min; engaged until the last resolution (80 min): 4200 s.
    assert got == expected


def test_first_load_of_an_all_resolved_account_fills_assignees_and_views(database, simulator) -> None:
    """Once resolved, incidents carry no assignments: the only record of who had them is their log entries,
    which a first load now reads. Then every response view against the same numbers computed here, in
    Python, from the log entries as the API renders them."""
    ds = generate(seed=41, size=600, services=3, days=100, end=END, responders=True)
    for slot in sorted(ds.open):
        ds.resolve(slot + 1, END)
    server = simulator(dataset=ds)
    first_load(server, database)
    build(database)

    covered = [s for s in range(len(ds)) if ds.created[s] >= START.timestamp()]
    assert len(covered) > 300
    expected_assignees = {
        (f"pagerduty:Incident:1:{s + 1}", user_id)
        for s in covered
        for _at, user_id, _ in ds.assignment_history(s + 1)
    }
    assert set(lake(database, "SELECT issue_id, assignee_id FROM issue_assignees")) == expected_assignees
    last = {f"pagerduty:Incident:1:{s + 1}": ds.assignment_history(s + 1)[-1][1] for s in covered}
    assert dict(lake(database, "SELECT id, assignee_id FROM issues")) == last

    facts = independent_facts(ds, covered)
    check_mtta(database, facts)
    check_escalations(database, facts)
    check_noisy_services(database, facts)
    check_interruptions(database, ds, covered)


# ------------------------------------------------------------------------------------------ by hand
def entries_of(ds, slot: int) -> list[dict[str, Any]]:
    """The incident's log entries as GET /log_entries renders them, oldest first."""
    return sorted(
        (ds.log_entry(slot, seq) for seq in range(len(ds.events(slot)))),
        key=lambda e: (e["created_at"], e["id"]),
    )


def lower_median(values: list[int]) -> int:
    return sorted(values)[(len(values) - 1) // 2]


def p90(values: list[int]) -> int:
    """Nearest rank: the value at rank ceil(0.9 n), in integers (0.9 * 70 is 63.00000000000001)."""
    return sorted(values)[max(-(-9 * len(values) // 10), 1) - 1]


def hours(local: datetime) -> str:
    if local.hour >= 22 or local.hour < 8:
        return "sleep"
    return "off" if local.weekday() >= 5 or local.hour >= 18 else "business"


def independent_facts(ds, covered: list[int]) -> list[dict[str, Any]]:
    out = []
    for slot in covered:
        incident = ds.render(slot)
        created = utc(incident["created_at"])
        entries = entries_of(ds, slot)
        acks = [utc(e["created_at"]) for e in entries if e["type"] == "acknowledge_log_entry"]
        escalations = [e for e in entries if e["type"] == "escalate_log_entry"]
        resolves = [e for e in entries if e["type"] == "resolve_log_entry"]
        pages: dict[str, datetime] = {}
        for entry in entries:
            if entry["type"] == "notify_log_entry":
                pages.setdefault(entry["user"]["id"], utc(entry["created_at"]))
        out.append(
            {
                "month": date(created.year, created.month, 1),
                "board_id": f"pagerduty:Service:1:{incident['service']['id']}",
                "teams": [t["id"] for t in incident["teams"]],
                "first_ack": int((min(acks) - created).total_seconds()) if acks else None,
                "escalated": bool(escalations),
                "escalations": len(escalations),
                "timeout": sum(e["channel"]["type"] == "timeout" for e in escalations),
                "auto": resolves[-1]["agent"]["type"].startswith("service"),
                "quick": (utc(incident["resolved_at"]) - created).total_seconds() <= 300,
                "interruptions": len(pages),
                "sleep": sum(
                    hours(at.astimezone(ZoneInfo(zone_of(ds, user)))) == "sleep" for user, at in pages.items()
                ),
            }
        )
    return out


def zone_of(ds, user_id: str) -> str:
    return ds.entities.user_zones[ds.entities.user_ids.index(user_id)]


def check_mtta(database, facts: list[dict[str, Any]]) -> None:
    def expected(key) -> dict:
        groups: dict[tuple, list] = defaultdict(list)
        for f in facts:
            for group in key(f):
                groups[group].append(f["first_ack"])
        result = {}
        for group, values in groups.items():
            acked = [v for v in values if v is not None]
            median = lower_median(acked) if acked else None
            p90_value = p90(acked) if acked else None
            result[group] = (len(values), len(acked), median, p90_value)
        return result

    got = {
        (m,): (n, a, s, p)
        for m, n, a, s, p in lake(
            database,
            "SELECT month, incidents, acknowledged_incidents, mtta_seconds, mtta_p90_seconds FROM response_mtta_monthly",
        )
    }
    assert got == expected(lambda f: [(f["month"],)])
    by_service = {
        (m, b): (n, a, s, p)
        for m, b, n, a, s, p in lake(
            database,
            "SELECT month, board_id, incidents, acknowledged_incidents, mtta_seconds, mtta_p90_seconds"
            " FROM response_mtta_monthly_by_service",
        )
    }
    assert by_service == expected(lambda f: [(f["month"], f["board_id"])])
    by_team = {
        (m, t): (n, a, s, p)
        for m, t, n, a, s, p in lake(
            database,
            "SELECT month, team_id, incidents, acknowledged_incidents, mtta_seconds, mtta_p90_seconds"
            " FROM response_mtta_monthly_by_team",
        )
    }
    assert by_team == expected(lambda f: [(f["month"], t) for t in f["teams"]])


def check_escalations(database, facts: list[dict[str, Any]]) -> None:
    months: dict[date, list] = defaultdict(list)
    for f in facts:
        months[f["month"]].append(f)
    expected = {
        m: (
            len(fs),
            sum(f["escalated"] for f in fs),
            sum(f["escalations"] for f in fs),
            sum(f["timeout"] for f in fs),
            sum(f["escalations"] - f["timeout"] for f in fs),
        )
        for m, fs in months.items()
    }
    rows = lake(
        database,
        "SELECT month, incidents, escalated_incidents, escalated_rate, escalations, timeout_escalations,"
        " manual_escalations FROM response_escalations_monthly",
    )
    assert {m: (n, e, s, t, h) for m, n, e, _r, s, t, h in rows} == expected
    assert all(math.isclose(rate, e / n) for _m, n, e, rate, *_ in rows)
    assert sum(t for *_, t, _h in expected.values()) > 0 and sum(h for *_, h in expected.values()) > 0


def check_noisy_services(database, facts: list[dict[str, Any]]) -> None:
    groups: dict[tuple, list] = defaultdict(list)
    for f in facts:
        groups[(f["month"], f["board_id"])].append(f)
    expected = {
        key: (
            len(fs),
            sum(f["auto"] for f in fs),
            sum(f["quick"] for f in fs),
            sum(f["interruptions"] for f in fs),
            sum(f["sleep"] for f in fs),
        )
        for key, fs in groups.items()
    }
    rows = lake(
        database,
        "SELECT month, board_id, incidents, auto_resolved_incidents, auto_resolved_rate,"
        " resolved_within_5_minutes, resolved_within_5_minutes_rate, interruptions, sleep_hour_interruptions"
        " FROM response_noisy_services",
    )
    assert {(m, b): (n, a, q, i, s) for m, b, n, a, _ar, q, _qr, i, s in rows} == expected
    assert all(
        math.isclose(ar, a / n) and math.isclose(qr, q / n) for _m, _b, n, a, ar, q, qr, _i, _s in rows
    )
    assert sum(v[1] for v in expected.values()) > 0 and sum(v[4] for v in expected.values()) > 0


def check_interruptions(database, ds, covered: list[int]) -> None:
    """Per user and ISO week of their own zone: notifications, and first notifications per incident by
    business, off and sleep hours, judged with Python's tz database."""
    weeks: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for slot in covered:
        seen: set[str] = set()
        for entry in entries_of(ds, slot):
            if entry["type"] != "notify_log_entry":
                continue
            user = entry["user"]["id"]
            local = utc(entry["created_at"]).astimezone(ZoneInfo(zone_of(ds, user)))
            week = local.date() - timedelta(days=local.weekday())
            counts = weeks[(user, week)]
            counts[0] += 1
            if user not in seen:
                seen.add(user)
                counts[1] += 1
                counts[2 + ("business", "off", "sleep").index(hours(local))] += 1
    rows = lake(
        database,
        "SELECT user_id, week_start, notifications, interruptions, business_hour_interruptions,"
        " off_hour_interruptions, sleep_hour_interruptions FROM response_interruptions_weekly_by_user",
    )
    assert {(u, w): list(v) for u, w, *v in rows} == dict(weeks)
    assert all(sum(v[2:]) == v[1] for v in weeks.values())
    assert min(sum(v[k] for v in weeks.values()) for k in (2, 3, 4)) > 0  # every kind of hour occurs


def test_history_since_bounds_the_log_entries_a_first_load_reads(database, simulator) -> None:
    """HISTORY_SINCE: a first load lists log entries written since then only (windowed like incidents), and
    costs that many fewer requests; the setting reads a date as midnight UTC and refuses a bare local time."""
    server = simulator(seed=5, size=400, services=2, days=60, end=END, responders=True)
    since = END - timedelta(days=20)
    result = load(server, database, END - timedelta(days=60), history_since=since)
    times = [row[0] for row in query(database, "SELECT created_at FROM log_entries")]
    assert times and min(times) >= since.replace(tzinfo=None) - timedelta(seconds=1)
    expected = sum(
        1
        for s in range(len(server.dataset))
        for event in server.dataset.events(s)
        if event[0] >= since.timestamp()
    )
    assert result.stats.log_entries == expected < sum(len(server.dataset.events(s)) for s in range(400))
    assert Settings.from_env({"HISTORY_SINCE": "2025-01-01"}).history_since == datetime(
        2025, 1, 1, tzinfo=UTC
    )
    assert Settings.from_env({}).history_since is None
    for bad in ("2025-01-01T10:00:00", "last year"):
        try:
            Settings.from_env({"HISTORY_SINCE": bad})
        except InputError as exc:
            assert "HISTORY_SINCE" in str(exc)
        else:
            raise AssertionError(bad)
