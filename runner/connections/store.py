"""PagerDuty connections kept in the lake database, in DevLake's table `_tool_pagerduty_connections`, with
tokens (and proxy URLs that carry a password) encrypted by runner/crypto.py. The CLI and blueprint runs
share them.

A saved token goes only where it was saved for: changing a connection's endpoint or proxy needs its token
again, and each ciphertext is bound to its connection's id, name, endpoint and proxy, so a row edited in the
database does not decrypt. Rows of earlier versions (`v1:` tokens, proxy passwords in clear, values bound to
id and endpoint only) are re-encrypted by one upgrade, in the transaction that records it (crypto.py); after
it, values of those forms are refused. `rotate` re-encrypts everything under a new secret.
"""

from __future__ import annotations

import os
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
    BINDING_VERSION,
    KDF_DDL,
    KDF_TABLE,
    MASK,
    Binding,
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
    previous_associated_data,
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


class UnknownConnection(InputError):
    pass


def mask_url(url: Optional[str]) -> Optional[str]:
    """A proxy URL with its password hidden; whatever is stored, never an exception."""
    if not url:
        return url
    if is_sealed(url):
        return MASK
    try:
        parts = urlsplit(url)
        if parts.password is None and parts.username is None:
            return url
        port = parts.port
    except ValueError:
        return MASK
    netloc = f"{parts.username}:{MASK}@{parts.hostname}" + (f":{port}" if port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _has_credentials(proxy: Optional[str]) -> bool:
    return bool(proxy) and "@" in urlsplit(proxy).netloc


def _binding(row: dict[str, Any], proxy: Optional[str] = None) -> Binding:
    """What a stored row's secrets are bound to (`proxy` in clear: the token's binding needs it)."""
    return Binding(row["id"], row["name"], row["endpoint"], proxy)


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
        The one upgrade of rows of earlier versions runs here, recorded by the key check it rewrites."""
        with conn.cursor() as cur:
            stored = load_params(cur)
        if stored is None:
            return self._first_key(conn, secret)
        params, key_check = stored
        cipher = Cipher.from_secret(secret, params)
        version = cipher.key_check_version(params, key_check)
        if version is None:
            with conn.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM `{TABLE}`")
                if not (may_rekey and cur.fetchone()[0] == 0):
                    raise SecretError(_WRONG_SECRET)
                # nothing is encrypted yet: the secret may change freely
                params = KdfParams.new()
                cipher = Cipher.from_secret(secret, params)
                store_params(cur, params, cipher.key_check(params), utc_now(), replace=True)
        elif version < BINDING_VERSION:
            self._upgrade(conn, cipher, params)
        return cipher

    def _first_key(self, conn, secret: str) -> Cipher:
        """The installation's first key, and its `v1:` rows (an earlier version's) re-encrypted, in one
        transaction: every v1 row must open with this secret, or it is the wrong one and nothing is written.
        Sealed rows without a key row cannot be read by anyone: refused, never re-keyed."""
        params = KdfParams.new()
        cipher = Cipher.from_secret(secret, params)
        with _transaction(conn) as cur:
            rows = self._rows(cur, lock=True)
            if any(is_sealed(row["token"]) for row in rows):
                raise SecretError(
                    f"the saved connections cannot be decrypted: their key's row ({KDF_TABLE}) is missing;"
                    " delete them and add them again"
                )
            opened = [(row, legacy_decrypt(row["token"], secret)) for row in rows if is_legacy(row["token"])]
            store_params(cur, params, cipher.key_check(params), utc_now())
            made = cur.rowcount == 1
            if made:
                for row, token in opened:
                    self._write_secrets(cur, cipher, row, token, row["proxy"])
        # another process made the key first: theirs is the one
        return cipher if made else self._cipher(conn, secret)

    def _upgrade(self, conn, cipher: Cipher, params: KdfParams) -> int:
        """Values of the previous version (bound to id and endpoint only) bound as this version binds them,
        and the key check rewritten to say so, in one transaction, once: a concurrent upgrade waits on the key
        row and finds it done. A row that does not open that way (a `v1:` token put there since, a value
        copied from another row) is left as it is, and refused from then on."""
        count = 0
        with _transaction(conn) as cur:
            stored = load_params(cur, lock=True)
            if stored is None or cipher.key_check_version(params, stored[1]) != 2:
                return 0
            for row in self._rows(cur, lock=True):
                conn_id, endpoint, proxy = row["id"], row["endpoint"], row["proxy"]
                try:
                    if is_sealed(proxy):
                        proxy = cipher.open(proxy, previous_associated_data("proxy", conn_id, endpoint))
                    token = cipher.open(row["token"], previous_associated_data("token", conn_id, endpoint))
                except SecretError:
                    continue
                self._write_secrets(cur, cipher, row, token, proxy)
                count += 1
            store_params(cur, params, cipher.key_check(params), utc_now(), replace=True)
        return count

    def _open(self, cipher: Cipher, row: dict[str, Any]) -> tuple[str, Optional[str]]:
        """A row's token and proxy in clear; SecretError if either was not sealed by this version for this
        very row (a `v1:` value, a value copied from another row, a changed endpoint, proxy or name)."""
        try:
            proxy = self._open_proxy(cipher, row)
            if not is_sealed(row["token"]):
                raise SecretError("not sealed")
            token = cipher.open(row["token"], associated_data("token", _binding(row, proxy)))
        except SecretError:
            raise SecretError(
                f"connection {row['id']}: its stored token cannot be decrypted (the row was changed outside"
                " this program, or ENCRYPTION_SECRET differs from the one it was saved with); save its token"
                " again"
            ) from None
        return token, proxy

    def _open_proxy(self, cipher: Cipher, row: dict[str, Any]) -> Optional[str]:
        """A row's proxy in clear (stored sealed when it carries a password)."""
        if not is_sealed(row["proxy"]):
            return row["proxy"]
        return cipher.open(row["proxy"], associated_data("proxy", _binding(row)))

    def _write_secrets(
        self, cur, cipher: Cipher, row: dict[str, Any], token: str, proxy: Optional[str]
    ) -> None:
        """Store a connection's token (and proxy, encrypted when it carries credentials), bound to the row's
        id, name and endpoint (`row` holds them as they are saved) and, for the token, to the proxy."""
        sealed_proxy = proxy
        if _has_credentials(proxy):
            sealed_proxy = cipher.seal(proxy, associated_data("proxy", _binding(row)))
        sealed = cipher.seal(token, associated_data("token", _binding(row, proxy)))
        cur.execute(
            f"UPDATE `{TABLE}` SET token = %s, proxy = %s WHERE id = %s", (sealed, sealed_proxy, row["id"])
        )

    # -- operations ------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Make sure the key exists and old rows are re-encrypted (the server calls this when it starts)."""
        secret = encryption_secret(self.environ)
        with self._conn() as conn:
            self._cipher(conn, secret)

    def add(self, fields: dict[str, Any]) -> int:
        """Save a connection (token used exactly as given); returns its id."""
        if fields.get("token") == MASK:
            raise InputError(f"token: {MASK} is how a saved token is shown, not a token; send the token")
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
                row = {"id": conn_id, "name": spec.name, "endpoint": spec.endpoint}
                self._write_secrets(cur, cipher, row, spec.token, spec.proxy)
        return conn_id

    def update(self, conn_id: int, changes: dict[str, Any]) -> None:
        """Change the fields in `changes` (a value of None leaves a field as it is, except `proxy`, which
        None or "" removes). A new endpoint or proxy needs the token too: a saved token is never sent
        anywhere but where it was saved for. Values as `public` shows them (the token's mask, the proxy with
        its password masked) mean "unchanged", so an object read and sent back changes nothing."""
        secret = encryption_secret(self.environ)
        policy = endpoint_policy(self.environ)
        with self._conn() as conn:
            cipher = self._cipher(conn, secret)
            with _transaction(conn) as cur:
                (current,) = self._rows(cur, conn_id, lock=True)
                new_token = changes.get("token")
                if new_token == MASK:
                    new_token = None
                if new_token is None:
                    token, proxy = self._open(cipher, current)
                else:
                    token, proxy = new_token, self._open_proxy(cipher, current)
                endpoint = changes.get("endpoint")
                if endpoint is None:
                    endpoint = current["endpoint"]
                new_proxy = proxy
                if "proxy" in changes and changes["proxy"] != mask_url(proxy):
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
                row = {"id": conn_id, "name": spec.name, "endpoint": spec.endpoint}
                self._write_secrets(cur, cipher, row, spec.token, spec.proxy)

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
                "token": MASK,
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
            plain = self._open_proxy(cipher, row)
        except InputError:
            return MASK
        return mask_url(plain)

    def spec(self, conn_id: int) -> ConnectionSpec:
        """One stored connection, decrypted (UnknownConnection if there is none)."""
        secret = encryption_secret(self.environ)
        with self._conn() as conn:
            cipher = self._cipher(conn, secret)
            with conn.cursor() as cur:
                (row,) = self._rows(cur, conn_id)
        return self._spec(cipher, row)

    def _spec(self, cipher: Cipher, row: dict[str, Any]) -> ConnectionSpec:
        token, proxy = self._open(cipher, row)
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
        return {row["id"]: self._spec(cipher, row) for row in rows}

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
                    token, proxy = self._open(old, row)
                    self._write_secrets(cur, new, row, token, proxy)
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
