"""Blueprint, connections and DB_URL parsing: what users type, and the one-line errors they get."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from ingestion.database import DatabaseUrlError, parse_db_url
from runner.blueprints import parse_blueprint
from runner.connections.files import parse_connections
from runner.errors import InputError

SEED_BLUEPRINT = {
    "cronConfig": "manual",
    "enable": True,
    "isManual": True,
    "mode": "NORMAL",
    "name": "test-blueprint",
    "settings": {
        "connections": [
            {
                "connectionId": 1,
                "plugin": "PagerDuty",
                "scope": [
                    {
                        "entities": ["TICKET"],
                        "options": {"connectionId": 1, "start_date": "2022-06-01T15:04:05Z"},
                    }
                ],
            }
        ],
        "version": "1.0.0",
    },
}
CONNECTIONS = parse_connections(
    [{"id": 1, "name": "PagerDuty-test1", "endpoint": "https://api.PagerDuty.com", "token": "secret-token"}]
)


def test_seed_blueprint_parses_verbatim() -> None:
    blueprint = parse_blueprint(SEED_BLUEPRINT, CONNECTIONS)
    assert blueprint.name == "test-blueprint"
    assert len(blueprint.tasks) == 1
    task = blueprint.tasks[0]
    assert task.connection.id == 1
    assert task.scope.start_date == datetime(2022, 6, 1, 15, 4, 5, tzinfo=UTC)
    assert task.scope.service_ids is None


def test_blank_entities_mean_ticket_and_offsets_become_utc() -> None:
    doc = copy.deepcopy(SEED_BLUEPRINT)
    scope = doc["settings"]["connections"][0]["scope"][0]
    scope["entities"] = []
    scope["options"]["start_date"] = "2022-06-01T17:04:05+02:00"
    task = parse_blueprint(doc, CONNECTIONS).tasks[0]
    assert task.scope.start_date == datetime(2022, 6, 1, 15, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("settings", "connections", 0, "plugin"),
            "jira",
            "settings.connections[0].plugin: 'jira' is not supported",
        ),
        (
            ("settings", "connections", 0, "connectionId"),
            7,
            "settings.connections[0].connectionId: no PagerDuty",
        ),
        (("settings", "version"), "3.0.0", "settings.version: '3.0.0' is not supported"),
        (("mode",), "ADVANCED", "mode: 'ADVANCED' is not supported"),
        (("enable",), False, "enable: the blueprint is disabled"),
        (
            ("settings", "connections", 0, "scope", 0, "options", "start_date"),
            "2022-06-01",
            "options.start_date: '2022-06-01' has no time zone",
        ),
        (
            ("settings", "connections", 0, "scope", 0, "options", "start_date"),
            "2999-01-01T00:00:00Z",
            "is in the future",
        ),
        (
            ("settings", "connections", 0, "scope", 0, "entities"),
            ["CICD"],
            "entities: ['CICD'] not supported",
        ),
    ],
)
def test_bad_blueprints_name_the_problem(path: tuple, value: object, message: str) -> None:
    doc = copy.deepcopy(SEED_BLUEPRINT)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InputError) as excinfo:
        parse_blueprint(doc, CONNECTIONS)
    assert message in str(excinfo.value)


def test_disabled_blueprint_runs_when_forced() -> None:
    doc = copy.deepcopy(SEED_BLUEPRINT)
    doc["enable"] = False
    assert parse_blueprint(doc, CONNECTIONS, force=True).tasks


def test_token_from_environment_and_never_in_repr() -> None:
    conns = parse_connections(
        [{"id": 3, "name": "prod", "endpoint": "https://api.pagerduty.com", "token": "${PD_TOKEN}"}],
        environ={"PD_TOKEN": "u+abcdef123"},
    )
    assert conns[3].token == "u+abcdef123"
    assert "u+abcdef123" not in repr(conns[3])


def test_missing_token_variable_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"connections\[0\].token: environment variable PD_TOKEN is not set"):
        parse_connections(
            [{"id": 1, "name": "x", "endpoint": "https://h", "token": "${PD_TOKEN}"}], environ={}
        )


def test_db_url_in_devlake_form() -> None:
    db = parse_db_url("mysql://merico:s3cr%40t@db.example:3307/lake?charset=utf8mb4&parseTime=True&loc=UTC")
    assert (db.user, db.password, db.host, db.port, db.name, db.raw_name) == (
        "merico",
        "s3cr@t",
        "db.example",
        3307,
        "lake",
        "lake_raw",
    )
    assert "s3cr" not in repr(db) and "s3cr" not in db.describe()


@pytest.mark.parametrize("url", ["postgres://u@h/lake", "mysql://root@127.0.0.1:3306/", "mysql://h/la-ke"])
def test_bad_db_urls(url: str) -> None:
    with pytest.raises(DatabaseUrlError):
        parse_db_url(url)


V2_BLUEPRINT = {
    "name": "by-service",
    "mode": "NORMAL",
    "enable": True,
    "cronConfig": "0 * * * *",
    "settings": {
        "version": "2.0.0",
        "timeAfter": "2024-01-01T00:00:00Z",
        "connections": [
            {"pluginName": "pagerduty", "connectionId": 1, "scopes": [{"scopeId": "PB"}, {"scopeId": "PA"}]}
        ],
    },
}


def test_v2_blueprint_scopes_are_service_ids() -> None:
    blueprint = parse_blueprint(V2_BLUEPRINT, CONNECTIONS)
    assert blueprint.cron == "0 * * * *"
    (task,) = blueprint.tasks
    assert task.scope.service_ids == ("PA", "PB")
    assert task.scope.start_date == datetime(2024, 1, 1, tzinfo=UTC)


def test_v2_blueprint_problems_have_paths() -> None:
    doc = copy.deepcopy(V2_BLUEPRINT)
    doc["settings"]["connections"][0]["scopes"] = [{"scopeId": ""}]
    doc["settings"]["timeAfter"] = "yesterday"
    with pytest.raises(InputError) as excinfo:
        parse_blueprint(doc, CONNECTIONS)
    lines = str(excinfo.value).splitlines()
    assert "settings.connections[0].scopes[0].scopeId: expected a PagerDuty service id" in lines
    assert "settings.timeAfter: 'yesterday' is not an ISO-8601 time (e.g. 2022-06-01T15:04:05Z)" in lines


def test_a_token_is_expanded_only_from_a_connections_file() -> None:
    from runner.connections.files import validate_connection

    item = {"id": 1, "name": "x", "endpoint": "https://api.pagerduty.com", "token": "${PD_TOKEN}"}
    literal = validate_connection(item, "body")  # as the API and `connections add` take it: exactly as sent
    assert literal.token == "${PD_TOKEN}"
    expanded = parse_connections([item], environ={"PD_TOKEN": "u+abcdef123"})[1]
    assert expanded.token == "u+abcdef123"
    for token in ("with space", "tök", "a" * 1001, ""):
        with pytest.raises(InputError, match=r"body\.token"):
            validate_connection({**item, "token": token}, "body")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cronConfig": "not a cron"}, "cronConfig: 'not a cron' is not a cron expression"),
        ({"cronConfig": "0 0 31 2 *"}, "cronConfig: '0 0 31 2 *' is not a cron expression that fires"),
        ({"cronConfig": 7}, "cronConfig: expected a cron expression"),
        ({"name": "n" * 256}, "name: at most 255 characters (256 given)"),
        ({"name": "tab\there"}, "name: control characters are not allowed"),
    ],
)
def test_blueprint_fields_that_reach_the_database_or_croniter(changes: dict, message: str) -> None:
    doc = {**copy.deepcopy(SEED_BLUEPRINT), **changes}
    with pytest.raises(InputError) as excinfo:
        parse_blueprint(doc, CONNECTIONS)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0001-01-01T00:00:00+14:00", "is out of range"),
        ("9999-12-31T23:59:59-14:00", "is out of range"),
        ("1969-12-31T23:59:59Z", "is before 1970-01-01"),
    ],
)
def test_time_ranges_out_of_bounds(value: str, message: str) -> None:
    doc = copy.deepcopy(V2_BLUEPRINT)
    doc["settings"]["timeAfter"] = value
    with pytest.raises(InputError, match=message):
        parse_blueprint(doc, CONNECTIONS)


def test_scopes_per_blueprint_are_limited() -> None:
    from runner.blueprints import MAX_SCOPES

    doc = copy.deepcopy(V2_BLUEPRINT)
    doc["settings"]["connections"][0]["scopes"] = [{"scopeId": f"P{i:04d}"} for i in range(MAX_SCOPES)]
    assert len(parse_blueprint(doc, CONNECTIONS).tasks[0].scope.service_ids) == MAX_SCOPES
    doc["settings"]["connections"][0]["scopes"].append({"scopeId": "PEXTRA"})
    with pytest.raises(InputError, match=f"a blueprint holds at most {MAX_SCOPES}"):
        parse_blueprint(doc, CONNECTIONS)
    v1 = copy.deepcopy(SEED_BLUEPRINT)
    scope = v1["settings"]["connections"][0]["scope"][0]
    v1["settings"]["connections"][0]["scope"] = [scope] * (MAX_SCOPES + 1)
    with pytest.raises(InputError, match="at most"):
        parse_blueprint(v1, CONNECTIONS)
