"""Shared fixtures: a private database on the real MariaDB/MySQL server, and the PagerDuty simulator over HTTP.

Tests that use `database` are marked `db`; without a server they skip, saying how to get one (CI always has
one). Helpers the tests share live in tests/helpers.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pymysql
import pytest

from ingestion.database import Database, drop_databases, parse_db_url
from simulator import SimulatorServer, generate
from simulator.server import SERVER_KEYS

from .helpers import SERVER_URL, SIM_TOKEN

# dbt's adapter conformance fixtures (tests/adapter); pytest accepts pytest_plugins only in a top-level conftest
pytest_plugins = ["dbt.tests.fixtures.project"]

ADAPTER_SOURCE = Path(__file__).resolve().parent.parent / "adapters" / "dbt-mysql8" / "src" / "dbt"


def _adapter_of_this_checkout() -> None:
    """dbt finds its adapters in the namespace packages dbt.adapters and dbt.include: the source in this tree
    goes first, so the suite tests the adapter as it is here (`make install` installs a copy into .venv, which
    a change, or scripts/mutation.py's scratch copy, would otherwise not reach)."""
    import dbt.adapters
    import dbt.include

    for package, folder in ((dbt.adapters, "adapters"), (dbt.include, "include")):
        path = str(ADAPTER_SOURCE / folder)
        if path in package.__path__:
            package.__path__.remove(path)
        package.__path__.insert(0, path)


_adapter_of_this_checkout()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "database" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def db_server() -> str:
    try:
        parse_db_url(f"{SERVER_URL}/probe").connect().close()
    except pymysql.err.OperationalError as exc:
        pytest.skip(
            f"no MySQL/MariaDB server answers at {SERVER_URL} ({exc.args[-1]}): start one (README, Quick start)"
            " or set TEST_DB_SERVER_URL"
        )
    return SERVER_URL


@pytest.fixture
def database(db_server: str) -> Iterator[Database]:
    """A database name of its own (and its _raw twin), dropped afterwards."""
    db = parse_db_url(f"{db_server}/pdtest_{uuid.uuid4().hex[:10]}")
    try:
        yield db
    finally:
        drop_databases(db)


@pytest.fixture(scope="module")
def simulator() -> Iterator[Callable[..., SimulatorServer]]:
    """Start simulated PagerDuty accounts: simulator(seed=.., size=.., account_time_zone=.., ...) generates
    one (or takes dataset=) and serves it on a free port; all are stopped when the module's tests are done.
    A test that changes an account starts its own."""
    servers: list[SimulatorServer] = []

    def start(dataset=None, **kwargs) -> SimulatorServer:
        server_kwargs = {"token": SIM_TOKEN, **{k: kwargs.pop(k) for k in SERVER_KEYS if k in kwargs}}
        server = SimulatorServer(dataset or generate(**kwargs), **server_kwargs)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
