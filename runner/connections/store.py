"""PagerDuty connections kept in the lake database, in DevLake's table `_tool_pagerduty_connections`, with
tokens (and proxy URLs that carry a password) encrypted by runner/crypto.py. The CLI and blueprint runs
share them.

A saved token goes only where it was saved for: changing a connection's endpoint or proxy needs its token
again, and each ciphertext is bound to its connection id and endpoint, so a row edited in the database does
not decrypt. Rows of earlier versions (`v1:` tokens, proxy passwords in clear) are re-encrypted on first
use; `rotate` re-encrypts everything under a new secret.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

import pymysql

from ingestion.database import Database
from ingestion.raw_store import forget_connection_scopes
from ingestion.scope_load import ConnectionSpec

from ..errors import InputError
from ..lake_tables import connect_with_table, utc_now
from .crypto import (
    KDF_DDL,
    Cipher,
    KdfParams,
    SecretError,
    associated_data,
    check_secret,
    encryption_secret,
    is_legacy,
    is_sealed,
    legacy_decrypt,
    load_params,
    store_params,
)
from .files import check_proxy_url, endpoint_policy, validate_connection

TABLE = "_tool_pagerduty_connections"
_UNKNOWN_DATABASE, _NO_SUCH_TABLE, _DUPLICATE = 1049, 1146, 1062
_DDL = f"""
CREATE TABLE IF NOT EXISTS `{TABLE}` (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    endpoint VARCHAR(255) NOT NULL,
    proxy TEXT NULL,
    rate_limit_per_hour INT NULL,
    token TEXT NOT NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    UNIQUE KEY uk_name (name)
) CHARACTER SET utf8mb4
"""
_KEYS = ("id", "name", "endpoint", "proxy", "rate_limit_per_hour", "token", "created_at", "updated_at")
_WRONG_SECRET = (
    "the saved connections cannot be decrypted: ENCRYPTION_SECRET differs from the one they were saved with"
)
_upgraded: set[tuple[str, int, str]] = set()  # lake databases whose old rows this process re-encrypted
_upgrade_lock = threading.Lock()


class UnknownConnection(InputError):
    pass


def mask_url(url: Optional[str]) -> Optional[str]:
    """A proxy URL with its password hidden; whatever is stored, never an exception."""
    if not url:
        return url
    if is_sealed(url):
        return "********"
    try:
        parts = urlsplit(url)
        if parts.password is None and parts.username is None:
            return url
        port = parts.port
    except ValueError:
        return "********"
    netloc = f"{parts.username}:********@{parts.hostname}" + (f":{port}" if port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _has_credentials(proxy: Optional[str]) -> bool:
    return bool(proxy) and "@" in urlsplit(proxy).netloc


class ConnectionStore:
    def __init__(self, database: Database, environ: Mapping[str, str] = os.environ) -> None:
        self.database = database
        self.environ = environ

    # -- plumbing --------------------------------------------------------------------------------------
    def _conn(self):
        conn = connect_with_table(self.database, _DDL)
        with conn.cursor() as cur:
            cur.execute(KDF_DDL)
        return conn

    def _key(self) -> tuple[str, int, str]:
        return (self.database.host, self.database.port, self.database.name)

    def _rows(self, cur, conn_id: Optional[int] = None, lock: bool = False) -> list[dict[str, Any]]:
        """Stored connections (all, or the one with `conn_id`, which must exist), in one query."""
        where, args = ("WHERE id = %s", (conn_id,)) if conn_id is not None else ("", ())
        suffix = " FOR UPDATE" if lock else ""
        cur.execute(f"SELECT {', '.join(_KEYS)} FROM `{TABLE}` {where} ORDER BY id{suffix}", args)
        rows = [dict(zip(_KEYS, row, strict=True)) for row in cur.fetchall()]
        if conn_id is not None and not rows:
            raise UnknownConnection(f"no PagerDuty connection with id {conn_id}")
        return rows

    def _check_name(self, cur, name: str, exclude: int = 0) -> None:
        cur.execute(f"SELECT id FROM `{TABLE}` WHERE name = %s AND id <> %s", (name, exclude))
        if cur.fetchone():
            raise InputError(f"name: a connection named {name!r} exists already")

    def _cipher(self, conn, secret: str, may_rekey: bool = False) -> Cipher:
        """The installation's key for `secret`, made on first use, checked against the stored key check.
        Rows of earlier versions are re-encrypted once per process."""
        with conn.cursor() as cur:
            stored = load_params(cur)
            if stored is None:
                # the first key of this installation: old rows must open with this secret, or it is wrong
                for row in self._rows(cur):
                    if is_legacy(row["token"]):
                        legacy_decrypt(row["token"], secret)
                params = KdfParams.new()
                store_params(cur, params, Cipher.from_secret(secret, params).key_check(params), utc_now())
                stored = load_params(cur)
            params, key_check = stored
            cipher = Cipher.from_secret(secret, params)
            if not cipher.opens_key_check(params, key_check):
                cur.execute(f"SELECT COUNT(*) FROM `{TABLE}`")
                if not (may_rekey and cur.fetchone()[0] == 0):
                    raise SecretError(_WRONG_SECRET)
                # nothing is encrypted yet: the secret may change freely
                params = KdfParams.new()
                cipher = Cipher.from_secret(secret, params)
                store_params(cur, params, cipher.key_check(params), utc_now(), replace=True)
        with _upgrade_lock:
            if self._key() not in _upgraded:
                self._upgrade(conn, cipher, secret)
                _upgraded.add(self._key())
        return cipher

    def _open(self, cipher: Cipher, row: dict[str, Any], secret: str) -> tuple[str, Optional[str]]:
        """A row's token and proxy in clear."""
        try:
            if is_legacy(row["token"]):
                token = legacy_decrypt(row["token"], secret)
            else:
                token = cipher.open(row["token"], associated_data("token", row["id"], row["endpoint"]))
            proxy = row["proxy"]
            if is_sealed(proxy):
                proxy = cipher.open(proxy, associated_data("proxy", row["id"], row["endpoint"]))
        except SecretError:
            raise SecretError(
                f"connection {row['id']}: its stored token cannot be decrypted (the row was changed outside"
                " this program, or ENCRYPTION_SECRET differs from the one it was saved with)"
            ) from None
        return token, proxy

    @staticmethod
    def _sealed(cipher: Cipher, conn_id: int, endpoint: str, token: str, proxy: Optional[str]):
        sealed_proxy = proxy
        if _has_credentials(proxy):
            sealed_proxy = cipher.seal(proxy, associated_data("proxy", conn_id, endpoint))
        return cipher.seal(token, associated_data("token", conn_id, endpoint)), sealed_proxy

    def _upgrade(self, conn, cipher: Cipher, secret: str) -> int:
        """Re-encrypt rows of earlier versions: `v1:` tokens, proxy URLs with a password in clear."""
        count = 0
        with _transaction(conn) as cur:
            for row in self._rows(cur, lock=True):
                proxy = row["proxy"]
                if not (is_legacy(row["token"]) or (_has_credentials(proxy) and not is_sealed(proxy))):
                    continue
                token, proxy = self._open(cipher, row, secret)
                self._write_secrets(cur, cipher, row["id"], row["endpoint"], token, proxy)
                count += 1
        return count

    def _write_secrets(
        self, cur, cipher: Cipher, conn_id: int, endpoint: str, token: str, proxy: Optional[str]
    ) -> None:
        """Store a connection's token (and proxy, encrypted when it carries credentials), bound to its id
        and endpoint."""
        if _has_credentials(proxy):
            proxy = cipher.seal(proxy, associated_data("proxy", conn_id, endpoint))
        sealed = cipher.seal(token, associated_data("token", conn_id, endpoint))
        cur.execute(f"UPDATE `{TABLE}` SET token = %s, proxy = %s WHERE id = %s", (sealed, proxy, conn_id))

    # -- operations ------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Make sure the key exists and old rows are re-encrypted (the server calls this when it starts)."""
        secret = encryption_secret(self.environ)
        with self._conn() as conn:
            self._cipher(conn, secret)

    def add(self, fields: dict[str, Any]) -> int:
        """Save a connection (token used exactly as given); returns its id."""
        policy = endpoint_policy(self.environ)
        spec = validate_connection({**fields, "id": 1}, "connection", policy=policy, resolve=True)
        secret = encryption_secret(self.environ)
        now = utc_now()
        with self._conn() as conn:
            cipher = self._cipher(conn, secret, may_rekey=True)
            with _transaction(conn) as cur:
                self._check_name(cur, spec.name)
                cur.execute(
                    f"INSERT INTO `{TABLE}` (name, endpoint, proxy, rate_limit_per_hour, token,"
                    " created_at, updated_at) VALUES (%s, %s, NULL, %s, '', %s, %s)",
                    (spec.name, spec.endpoint, spec.rate_limit_per_hour, now, now),
                )
                conn_id = int(cur.lastrowid)  # the id is known now: the ciphertexts are bound to it
                self._write_secrets(cur, cipher, conn_id, spec.endpoint, spec.token, spec.proxy)
        return conn_id

    def update(self, conn_id: int, changes: dict[str, Any]) -> None:
        """Change the fields in `changes` (a value of None leaves a field as it is, except `proxy`, which
        None or "" removes). A new endpoint or proxy needs the token too: a saved token is never sent
        anywhere but where it was saved for."""
        secret = encryption_secret(self.environ)
        policy = endpoint_policy(self.environ)
        with self._conn() as conn:
            cipher = self._cipher(conn, secret)
            with _transaction(conn) as cur:
                (current,) = self._rows(cur, conn_id, lock=True)
                new_token = changes.get("token")
                if new_token is None:
                    token, proxy = self._open(cipher, current, secret)
                else:
                    token, proxy = new_token, self._open_proxy(cipher, current)
                endpoint = changes.get("endpoint")
                if endpoint is None:
                    endpoint = current["endpoint"]
                new_proxy = proxy
                if "proxy" in changes:
                    new_proxy = check_proxy_url(changes["proxy"], "connection.proxy", policy, resolve=True)
                moved = (isinstance(endpoint, str) and endpoint.strip() != current["endpoint"]) or (
                    new_proxy != proxy
                )
                if moved and new_token is None:
                    raise InputError(
                        "token: required when the endpoint or proxy changes (a saved token is never sent"
                        " to a new destination); send the token again"
                    )
                rate = current["rate_limit_per_hour"]
                merged = {
                    "id": conn_id,
                    "name": changes.get("name") or current["name"],
                    "endpoint": endpoint,
                    "proxy": new_proxy,
                    "rateLimitPerHour": changes["rateLimitPerHour"]
                    if "rateLimitPerHour" in changes
                    else rate,
                    "token": token,
                }
                spec = validate_connection(merged, "connection", policy=policy, resolve=moved)
                self._check_name(cur, spec.name, exclude=conn_id)
                cur.execute(
                    f"UPDATE `{TABLE}` SET name = %s, endpoint = %s, rate_limit_per_hour = %s,"
                    " updated_at = %s WHERE id = %s",
                    (spec.name, spec.endpoint, spec.rate_limit_per_hour, utc_now(), conn_id),
                )
                self._write_secrets(cur, cipher, conn_id, spec.endpoint, spec.token, spec.proxy)

    def _open_proxy(self, cipher: Cipher, row: dict[str, Any]) -> Optional[str]:
        if not is_sealed(row["proxy"]):
            return row["proxy"]
        return cipher.open(row["proxy"], associated_data("proxy", row["id"], row["endpoint"]))

    def delete(self, conn_id: int) -> None:
        """Needs no secret: a connection whose secret is lost can still be removed. Its scopes go with it, so
        its incidents leave the lake's tables at the next dbt build."""
        with self._conn() as conn, conn.cursor() as cur:
            self._rows(cur, conn_id)
            cur.execute(f"DELETE FROM `{TABLE}` WHERE id = %s", (conn_id,))
        forget_connection_scopes(self.database, conn_id)

    def public(self, conn_id: Optional[int] = None) -> list[dict[str, Any]]:
        """Connections as they may be shown: token masked, proxy password hidden. Needs no secret."""
        with self._conn() as conn, conn.cursor() as cur:
            rows = self._rows(cur, conn_id)
        return [
            {
                "id": row["id"],
                "name": row["name"],
                "endpoint": row["endpoint"],
                "proxy": self._shown_proxy(row),
                "rateLimitPerHour": row["rate_limit_per_hour"],
                "token": "********",
                "createdAt": row["created_at"].isoformat(),
                "updatedAt": row["updated_at"].isoformat(),
            }
            for row in rows
        ]

    def _shown_proxy(self, row: dict[str, Any]) -> Optional[str]:
        """A proxy with its password hidden: the user name and host need the key when it is encrypted."""
        if not is_sealed(row["proxy"]):
            return mask_url(row["proxy"])
        try:
            secret = encryption_secret(self.environ)
            with self._conn() as conn:
                cipher = self._cipher(conn, secret)
            plain = cipher.open(row["proxy"], associated_data("proxy", row["id"], row["endpoint"]))
        except InputError:
            return "********"
        return mask_url(plain)

    def spec(self, conn_id: int) -> ConnectionSpec:
        """One stored connection, decrypted (UnknownConnection if there is none)."""
        secret = encryption_secret(self.environ)
        with self._conn() as conn:
            cipher = self._cipher(conn, secret)
            with conn.cursor() as cur:
                (row,) = self._rows(cur, conn_id)
        return self._spec(cipher, row, secret)

    def _spec(self, cipher: Cipher, row: dict[str, Any], secret: str) -> ConnectionSpec:
        token, proxy = self._open(cipher, row, secret)
        return ConnectionSpec(
            id=row["id"],
            name=row["name"],
            endpoint=row["endpoint"],
            token=token,
            proxy=proxy,
            rate_limit_per_hour=row["rate_limit_per_hour"],
        )

    def specs(self) -> dict[int, ConnectionSpec]:
        """Every stored connection, decrypted, for a blueprint run. Creates nothing when there is nothing
        saved (a run refused for bad input must leave the databases as they were); rows of earlier versions
        are re-encrypted on this first use."""
        try:
            with self.database.connect(self.database.name) as conn, conn.cursor() as cur:
                rows = self._rows(cur)
        except (pymysql.err.OperationalError, pymysql.err.ProgrammingError) as exc:
            if exc.args and exc.args[0] in (_UNKNOWN_DATABASE, _NO_SUCH_TABLE):
                return {}
            raise
        if not rows:
            return {}
        secret = encryption_secret(self.environ)
        with self.database.connect(self.database.name) as conn:  # the lake exists: nothing else is created
            with conn.cursor() as cur:
                cur.execute(KDF_DDL)  # the key's table, on an installation of an earlier version
            cipher = self._cipher(conn, secret)
            with conn.cursor() as cur:
                rows = self._rows(cur)
        return {row["id"]: self._spec(cipher, row, secret) for row in rows}

    def rotate(self, new_secret: str) -> int:
        """Re-encrypt every saved connection under `new_secret` (with a new salt), in one transaction.
        ENCRYPTION_SECRET must hold the current secret. Returns how many connections were re-encrypted."""
        old_secret = encryption_secret(self.environ)
        check_secret(new_secret, "the new secret")
        if new_secret == old_secret:
            raise InputError("the new secret is the one in ENCRYPTION_SECRET: nothing to rotate")
        with self._conn() as conn:
            old = self._cipher(conn, old_secret)
            params = KdfParams.new()
            new = Cipher.from_secret(new_secret, params)
            with _transaction(conn) as cur:
                rows = self._rows(cur, lock=True)
                for row in rows:
                    token, proxy = self._open(old, row, old_secret)
                    self._write_secrets(cur, new, row["id"], row["endpoint"], token, proxy)
                store_params(cur, params, new.key_check(params), utc_now(), replace=True)
        return len(rows)


@contextmanager
def _transaction(conn):
    """A cursor in one transaction: committed at the end, rolled back on any error. A duplicate name (two
    saves at once) is an InputError."""
    conn.begin()
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except pymysql.err.IntegrityError as exc:
        conn.rollback()
        if exc.args and exc.args[0] == _DUPLICATE:
            raise InputError("name: a connection with that name exists already") from None
        raise
    except BaseException:
        conn.rollback()
        raise
