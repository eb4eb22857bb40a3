"""For `make demo` on a machine where DB_URL answers nothing: a private, throwaway MariaDB (or MySQL)
server started from the installed server binaries, in a temporary folder, removed afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import pymysql

from ingestion.database import Database

HOW_TO_GET_ONE = """no MySQL/MariaDB server answers at {where}, and no server binaries are installed
to start a private one. Either:
  - install MariaDB (Debian/Ubuntu: sudo apt-get install mariadb-server) and run `make demo` again, or
  - start MySQL 8.4 with Docker: `docker compose up -d mysql` in this folder, then
    export DB_URL=mysql://root:demo@127.0.0.1:3307/lake and run `make demo` again, or
  - point DB_URL at a server you have: export DB_URL=mysql://user:password@host:3306/lake"""


def answers(database: Database) -> bool:
    try:
        database.connect().close()
        return True
    except pymysql.err.OperationalError:
        return False


def _binary(*names: str) -> Optional[str]:
    for name in names:
        found = shutil.which(name) or next(
            (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
        )
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def private_server(name: str, server_args: tuple[str, ...] = ()) -> Iterator[Database]:
    """A fresh server on a free loopback port with user root and no password (`server_args` go to the
    server, e.g. a default time zone); raises RuntimeError with instructions when no server binaries are
    installed."""
    server = _binary("mariadbd", "mysqld")
    install = _binary("mariadb-install-db", "mysql_install_db")
    if not server or not install:
        raise RuntimeError("missing server binaries")
    datadir = tempfile.mkdtemp(prefix="pagerduty-demo-db-")
    user = (
        os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    )
    port = _free_port()
    subprocess.run(
        [
            install,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--user={user}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--port={port}",
            f"--socket={datadir}/sock",
            f"--user={user}",
            "--bind-address=127.0.0.1",
            "--skip-log-bin",
            *server_args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = Database(host="127.0.0.1", port=port, user="root", password="", name=name)
    try:
        deadline = time.monotonic() + 30
        while not answers(database):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the private server in {datadir} did not start")
            time.sleep(0.2)
        yield database
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(datadir, ignore_errors=True)
