"""The Dockerfile and docker-compose.yml, as far as they can be checked without Docker (no engine runs here).

- The Dockerfile is read instruction by instruction: its base image (an exact python:3.11 slim tag), its
  non-root user, its command and its health check; its pip commands are `make install`'s.
- Its COPY instructions are carried out into a scratch folder (the image's WORKDIR) and its RUN commands run
  there in a plain shell: pip as an offline dry run against this environment (which `make install` built
  from the same files, so nothing is downloaded and any pin the environment lacks fails), `useradd` and
  `chown` as stand-ins that record their arguments (they would change this machine's users).
- Its command then runs from that folder with the compose file's environment (the host and port moved to a
  free loopback port), answers its own health check, and runs a pipeline over a simulated account: the files
  COPY brings are all `run.py serve` and dbt need.
- docker-compose.yml validates against the Compose Specification's JSON schema (tests/schemas/, vendored with
  its source), and what the schema cannot see is checked here: services, health conditions, images, the
  lake's URL, the secrets' lengths.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import requests
import yaml

from ingestion.database import Database

from .helpers import ROOT, SEED_BLUEPRINT, SIM_TOKEN, db_url, free_port, lake

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "tests" / "schemas" / "compose-spec.json"
SERVICE = "pagerduty-dora"


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of each instruction: continuation lines joined, comments dropped."""
    found, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not current):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, arguments = current.partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        current = ""
    assert not current, "a continuation line ends the file"
    return found


def dockerfile() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def only(keyword: str) -> str:
    (arguments,) = [a for k, a in dockerfile() if k == keyword]
    return arguments


def health_check_command() -> list[str]:
    options, _, command = only("HEALTHCHECK").partition("CMD ")
    assert re.fullmatch(r"(--[a-z-]+=\w+\s*)*", options), options
    return json.loads(command)


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


# ------------------------------------------------------------------------------------ the Dockerfile
def test_dockerfile_base_image_user_command_and_health_check() -> None:
    image = only("FROM")
    match = re.fullmatch(r"python:(3\.\d+)\.\d+-slim(-bookworm)?(@sha256:[0-9a-f]{64})?", image)
    assert match, f"an exact python slim tag (or a digest), not {image}"
    assert match.group(1) == f"{sys.version_info.major}.{sys.version_info.minor}" == "3.11"
    assert only("WORKDIR") == "/app"

    user = only("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and (not gid or int(gid) != 0), "a numeric non-root user"
    runs = [a for k, a in dockerfile() if k == "RUN"]
    (created,) = [shlex.split(r) for r in runs if r.startswith("useradd ")]
    assert created[created.index("--uid") + 1] == uid
    assert [k for k, _ in dockerfile()].index("USER") > max(
        i for i, (k, _) in enumerate(dockerfile()) if k in ("RUN", "COPY")
    ), "the user is switched to after the last RUN and COPY: the command runs as it"

    assert json.loads(only("CMD")) == ["python", "run.py", "serve", "--host", "0.0.0.0", "--port", "8080"]
    assert only("EXPOSE") == "8080"
    check = health_check_command()
    assert check[:2] == ["python", "-c"] and "urllib.request" in check[2]
    assert "http://127.0.0.1:8080/ping" in check[2], (
        "the port the command serves on, the route without a token"
    )


def test_dockerfile_installs_as_make_install_does() -> None:
    """The first two pip commands of `make install` (pip itself, then the application with its adapter), from
    the same files; the image has no test or lint tools (make install's later commands)."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(STAMP): requirements.txt constraints.txt", 1)[1].split("\n\n", 1)[0]
    make_pip = [
        line.strip().replace("$(BIN)/pip", "pip").replace("$(ADAPTER)", "adapters/dbt-mysql8")
        for line in recipe.splitlines()
        if "pip install" in line
    ]
    docker_pip = [a for k, a in dockerfile() if k == "RUN" and a.startswith("pip ")]
    assert docker_pip == make_pip[:2] and len(docker_pip) == 2
    assert not any("requirements-dev" in a for a in docker_pip)
    (copied,) = [a for k, a in dockerfile() if k == "COPY" and "requirements.txt" in a]
    assert copied.split()[:-1] == ["requirements.txt", "constraints.txt"]


def copy_into(app: Path, arguments: str) -> None:
    """A COPY instruction (sources in the repository, the destination in the image's WORKDIR, `app`)."""
    assert not arguments.startswith("--"), "no COPY flags: the files stay root's, read-only to the user"
    *sources, destination = arguments.split()
    target = app / destination
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"COPY {source}: not in the repository"
        assert not path.is_symlink()
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            into = target / path.name if destination.endswith("/") else target
            into.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, into)


def build_in_a_plain_shell(app: Path, stand_ins: Path) -> Path:
    """COPY into `app` and RUN there with /bin/sh, as the build does; returns the stand-ins' log."""
    log = stand_ins / "calls.log"
    for name in ("useradd", "chown"):
        script = stand_ins / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n')
        script.chmod(0o755)
    env = {
        "PATH": f"{stand_ins}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
        "HOME": str(app.parent),
        # pip resolves against this environment only: an offline dry run of the same command
        "PIP_DRY_RUN": "1",
        "PIP_NO_INDEX": "1",
        # the adapter (adapters/dbt-mysql8) is built from source: with this environment's setuptools, as there
        # is no index to fetch an isolated one from ("0" is pip's spelling of --no-build-isolation)
        "PIP_NO_BUILD_ISOLATION": "0",
    }
    for keyword, arguments in dockerfile():
        if keyword == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(arguments)))
        elif keyword == "COPY":
            copy_into(app, arguments)
        elif keyword == "RUN":
            assert not arguments.startswith("["), "shell-form RUN commands"
            done = subprocess.run(
                ["/bin/sh", "-c", arguments], cwd=app, env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, (
                f"RUN {arguments}\n{done.stdout}\n{done.stderr}\n(pip: this environment is not what"
                " requirements.txt and constraints.txt install; `make install` makes it so)"
            )
    return log


def health_check(port: int) -> int:
    command = [sys.executable if part == "python" else part for part in health_check_command()]
    command = [part.replace("127.0.0.1:8080", f"127.0.0.1:{port}") for part in command]
    return subprocess.run(command, capture_output=True, timeout=30).returncode


def test_the_image_builds_in_a_plain_shell_and_serves(database: Database, simulator, tmp_path) -> None:
    app, stand_ins = tmp_path / "app", tmp_path / "bin"
    app.mkdir()
    stand_ins.mkdir()
    log = build_in_a_plain_shell(app, stand_ins)
    calls = log.read_text().splitlines()
    assert calls == [
        "useradd --system --uid 10001 --user-group --home-dir /home/app --create-home app",
        "chown app:app target logs",
    ]
    assert (app / "target").is_dir() and (app / "logs").is_dir()
    # only what serve needs: no tests but dbt's, no simulator, scripts, dashboards, environment or secrets
    assert sorted(p.name for p in app.iterdir()) == sorted(
        [".dlt", "adapters", "constraints.txt", "dbt_project.yml", "ingestion", "logs", "macros", "models"]
        + [
            "profiles.example.yml",
            "pyproject.toml",
            "requirements.txt",
            "run.py",
            "runner",
            "seeds",
            "target",
        ]
        + ["tests"]
    )
    assert [p.name for p in (app / "tests").iterdir()] == ["dbt"]
    assert [p.name for p in (app / ".dlt").iterdir()] == ["config.toml"]

    # the command, from that folder, with the compose file's environment (only the lake moved to the test's)
    environment = compose()["services"][SERVICE]["environment"]
    env = {**os.environ, **environment, "DB_URL": db_url(database)}
    env.update(dict(pair.split("=", 1) for k, a in dockerfile() if k == "ENV" for pair in shlex.split(a)))
    port = free_port()
    command = json.loads(only("CMD"))
    command = [sys.executable if part == "python" else part for part in command]
    command[command.index("0.0.0.0")] = "127.0.0.1"  # no port of this machine opened beyond loopback
    command[command.index("8080")] = str(port)
    version = subprocess.run(
        [sys.executable, "run.py", "--version"], cwd=app, env=env, capture_output=True, text=True, timeout=60
    )
    assert re.fullmatch(r"run\.py \d+\.\d+\.\d+\n", version.stdout), version.stderr
    assert health_check(port) != 0, "nothing answers yet"
    proc = subprocess.Popen(
        command, cwd=app, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    token = {"Authorization": f"Bearer {environment['API_TOKEN']}"}
    try:
        deadline = time.monotonic() + 60
        while health_check(port) != 0:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else "serve exited"
            assert time.monotonic() < deadline, "the health check never passed"
            time.sleep(0.5)
        assert requests.get(f"{base}/blueprints", timeout=10).status_code == 401, "API_TOKEN is required"
        sim = simulator(seed=3, size=120, services=2, days=60)
        connection = requests.post(
            f"{base}/plugins/pagerduty/connections",
            json={"name": "sim", "endpoint": sim.url, "token": SIM_TOKEN},
            headers=token,
            timeout=30,
        )
        assert connection.ok, connection.text
        blueprint = requests.post(f"{base}/blueprints", json=SEED_BLUEPRINT, headers=token, timeout=30).json()
        pipeline = requests.post(
            f"{base}/blueprints/{blueprint['id']}/trigger", headers=token, timeout=30
        ).json()
        deadline = time.monotonic() + 300
        while pipeline["status"] not in ("TASK_COMPLETED", "TASK_FAILED"):
            assert time.monotonic() < deadline, pipeline
            time.sleep(1)
            pipeline = requests.get(f"{base}/pipelines/{pipeline['id']}", headers=token, timeout=30).json()
        assert pipeline["status"] == "TASK_COMPLETED", pipeline
        assert pipeline["incidents"] == 120
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert health_check(port) != 0, "the health check fails once the server is gone"
    # dbt built the lake from the copied project (its target/ is the scratch folder's)
    assert (app / "target" / "manifest.json").is_file()
    assert lake(database, "SELECT COUNT(*) FROM issues") == [(120,)]
    assert lake(database, "SELECT COUNT(DISTINCT project_name) FROM dora_mttr_monthly_by_project") == [(1,)]


# ------------------------------------------------------------------------------------ docker-compose.yml
def test_compose_file_validates_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    assert [error.message for error in validator.iter_errors(compose())] == []
    # the schema does reject what Compose rejects
    broken = compose()
    broken["services"]["mysql"]["depends_on"] = {"grafana": {"condition": "when_ready"}}
    broken["services"]["grafana"]["healthcheck"] = {"interval": 5}
    assert len(list(validator.iter_errors(broken))) == 2


def test_compose_runs_the_whole_stack() -> None:
    """What `docker compose config` would also refuse, and what the stack needs to start in order."""
    services = compose()["services"]
    assert set(services) == {"mysql", SERVICE, "grafana"}
    assert re.fullmatch(r"mysql:8\.4\.\d+", services["mysql"]["image"]), "MySQL 8.4 LTS, an exact tag"
    assert re.fullmatch(r"grafana/grafana:1[12]\.\d+\.\d+", services["grafana"]["image"])
    assert services[SERVICE]["build"] == "." and (ROOT / "Dockerfile").is_file()
    volumes = set(compose()["volumes"])
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services and condition == {"condition": "service_healthy"}, name
            assert "healthcheck" in services[dependency] or services[dependency].get("build") == ".", (
                dependency
            )
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in volumes or (ROOT / source).exists(), volume
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), "published on this machine only"
    assert services[SERVICE]["depends_on"] == {"mysql": {"condition": "service_healthy"}}
    assert "HEALTHCHECK" in [k for k, _ in dockerfile()], "grafana waits for the Dockerfile's health check"

    mysql = services["mysql"]["environment"]
    environment = services[SERVICE]["environment"]
    assert (
        environment["DB_URL"]
        == f"mysql://root:{mysql['MYSQL_ROOT_PASSWORD']}@mysql:3306/{mysql['MYSQL_DATABASE']}"
    )
    assert len(environment["API_TOKEN"]) >= 32 and len(environment["ENCRYPTION_SECRET"]) >= 16
    assert "change-me" in environment["API_TOKEN"] and "change-me" in environment["ENCRYPTION_SECRET"]
    assert services[SERVICE]["ports"] == ["127.0.0.1:8080:8080"]
    healthcheck = services["mysql"]["healthcheck"]["test"]
    assert f"-p{mysql['MYSQL_ROOT_PASSWORD']}" in healthcheck
