"""Connection secrets encrypted at rest with a key from ENCRYPTION_SECRET, as DevLake keeps them.

- The key comes from the secret by scrypt (N=2^17, r=8, p=1: about 0.4 s and 128 MiB per derivation, on
  purpose) with a random salt made once per installation and kept in the lake database (`KDF_TABLE`, with the
  parameters and a key check that tells a wrong secret from a damaged row). It is derived once per process,
  secret and salt.
- The scrypt parameters are fixed here: a row holding others (edited in the database: `n=3` would fail every
  derivation, a huge `n` exhaust memory) is refused with a clear error, never derived from.
- Values are AES-256-GCM with a random nonce each, written `v2:<base64(nonce + ciphertext)>`. The associated
  data binds each value to what it belongs to: a token to its connection's id, name, endpoint and proxy, a
  proxy to the id, name and endpoint. A token copied to another row, or a row whose endpoint, proxy or name
  was changed in the database, no longer decrypts, so the token is never sent elsewhere.
- The key check says which binding the installation's values use (`BINDING_VERSION`). Only the one upgrade
  (store.py) reads anything older: `v1:` values (HKDF-SHA256 with a fixed salt, before scrypt) when the key
  is first made, values bound to id and endpoint only (the previous binding) when the key check is older.
  The upgrade rewrites the key check in the same transaction, so it runs once and is recorded where a
  database editor cannot forge it (the key check needs the key).
"""

from __future__ import annotations

import base64
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..errors import InputError

ENV_VAR = "ENCRYPTION_SECRET"
MIN_SECRET_LENGTH = 16
PREFIX = "v2:"
LEGACY_PREFIX = "v1:"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SALT_BYTES = 16
BINDING_VERSION = 3
"""Values bound to id, name, endpoint and proxy; 2 (the previous version) bound id and endpoint only."""
KDF_TABLE = "_pagerduty_dora_encryption"
KDF_DDL = f"""
CREATE TABLE IF NOT EXISTS `{KDF_TABLE}` (
    id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    algorithm VARCHAR(16) NOT NULL,
    salt VARCHAR(64) NOT NULL,
    n INT UNSIGNED NOT NULL,
    r INT UNSIGNED NOT NULL,
    p INT UNSIGNED NOT NULL,
    key_check TEXT NOT NULL,
    updated_at DATETIME(3) NOT NULL
) CHARACTER SET utf8mb4
"""
_LEGACY_CONTEXT = b"_tool_pagerduty_connections.token"
_KEY_CHECK = "pagerduty-dora key check"


class SecretError(InputError):
    """No usable ENCRYPTION_SECRET, or a value it cannot decrypt: exit code 2, nothing written."""


def check_secret(secret: Optional[str], name: str = ENV_VAR) -> str:
    """The secret, if it is one: set, not blank, at least MIN_SECRET_LENGTH characters."""
    if not secret or not secret.strip() or len(secret) < MIN_SECRET_LENGTH:
        raise SecretError(
            f"{name} must be set (at least {MIN_SECRET_LENGTH} characters, not only spaces) to store or read"
            " connections; keep it safe: tokens saved with one secret cannot be read with another"
        )
    return secret


def encryption_secret(environ: Mapping[str, str] = os.environ) -> str:
    return check_secret(environ.get(ENV_VAR, ""))


@dataclass(frozen=True)
class KdfParams:
    """scrypt's salt and costs for one installation."""

    salt: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    @classmethod
    def new(cls) -> KdfParams:
        return cls(salt=os.urandom(SALT_BYTES))


@functools.lru_cache(maxsize=8)
def derive_key(secret: str, params: KdfParams) -> bytes:
    """The 256-bit key of a secret (slow on purpose; cached for the process)."""
    return Scrypt(salt=params.salt, length=32, n=params.n, r=params.r, p=params.p).derive(secret.encode())


@dataclass(frozen=True)
class Binding:
    """What a connection's secrets are bound to: the row's id, name, endpoint and proxy (in clear)."""

    connection_id: int
    name: str
    endpoint: str
    proxy: Optional[str] = None


def associated_data(field: str, binding: Binding) -> bytes:
    """The authenticated data of a value: the field it fills and its connection's id, name and endpoint, and
    for the token the proxy too (the proxy cannot be bound to itself). Each part is length-prefixed, so no
    edit can move text from one column to another and keep the same bytes."""
    parts = [f"pagerduty-dora/v{BINDING_VERSION}", field, str(int(binding.connection_id)), binding.name]
    parts.append(binding.endpoint)
    if field == "token":
        parts.append(binding.proxy or "")
    return b"".join(len(raw).to_bytes(4, "big") + raw for raw in (part.encode() for part in parts))


def previous_associated_data(field: str, connection_id: int, endpoint: str) -> bytes:
    """The previous binding (id and endpoint only), read by the upgrade alone."""
    return b"\x00".join(
        (b"pagerduty-dora/v2", field.encode(), str(int(connection_id)).encode(), endpoint.encode())
    )


class Cipher:
    """AES-256-GCM under one derived key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_secret(cls, secret: str, params: KdfParams) -> Cipher:
        return cls(derive_key(secret, params))

    def seal(self, plaintext: str, aad: bytes) -> str:
        nonce = os.urandom(12)
        return PREFIX + base64.b64encode(nonce + self._aead.encrypt(nonce, plaintext.encode(), aad)).decode()

    def open(self, value: str, aad: bytes) -> str:
        """The plaintext, or SecretError if the value was made with another key or for something else."""
        if not is_sealed(value):
            raise SecretError("a stored value is not in this project's encrypted form")
        try:
            raw = base64.b64decode(value[len(PREFIX) :], validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], aad).decode()
        except (InvalidTag, ValueError):
            raise SecretError("a stored value cannot be decrypted") from None

    def key_check(self, params: KdfParams) -> str:
        """A value only this key opens, stored beside the salt to recognise the right secret; it also says
        that the installation's values use this version's binding."""
        return self.seal(_KEY_CHECK, _key_check_aad(params, BINDING_VERSION))

    def key_check_version(self, params: KdfParams, value: str) -> Optional[int]:
        """The binding version the key check vouches for (BINDING_VERSION, or 2 before the upgrade), or None
        when this key does not open it (a wrong secret)."""
        for version in (BINDING_VERSION, 2):
            try:
                if self.open(value, _key_check_aad(params, version)) == _KEY_CHECK:
                    return version
            except SecretError:
                continue
        return None


def _key_check_aad(params: KdfParams, version: int) -> bytes:
    label = b"pagerduty-dora/key-check" + (b"/v%d" % version if version > 2 else b"")
    return label + b"\x00" + base64.b64encode(params.salt)


def is_sealed(value: Optional[str]) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def is_legacy(value: Optional[str]) -> bool:
    return isinstance(value, str) and value.startswith(LEGACY_PREFIX)


def _legacy_cipher(secret: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"pagerduty-dora", info=_LEGACY_CONTEXT).derive(
        secret.encode()
    )
    return AESGCM(key)


def legacy_encrypt(plaintext: str, secret: str) -> str:
    """The `v1:` form, as earlier versions wrote it (kept to test the upgrade)."""
    nonce = os.urandom(12)
    sealed = _legacy_cipher(secret).encrypt(nonce, plaintext.encode(), _LEGACY_CONTEXT)
    return LEGACY_PREFIX + base64.b64encode(nonce + sealed).decode()


def legacy_decrypt(value: str, secret: str) -> str:
    """A `v1:` value (HKDF with a fixed salt, no binding to its row)."""
    if not is_legacy(value):
        raise SecretError("a stored token is not in this project's encrypted form")
    try:
        raw = base64.b64decode(value[len(LEGACY_PREFIX) :], validate=True)
        return _legacy_cipher(secret).decrypt(raw[:12], raw[12:], _LEGACY_CONTEXT).decode()
    except (InvalidTag, ValueError):
        raise SecretError(
            f"a stored token cannot be decrypted: {ENV_VAR} differs from the one it was saved with"
        ) from None


def load_params(cur, lock: bool = False) -> Optional[tuple[KdfParams, str]]:
    """The installation's scrypt parameters and key check, or None before the first connection is saved.

    The row is not trusted: anything but scrypt with this version's costs and a 16-byte salt is a
    SecretError that says so (never a derivation that fails, or takes all the memory there is)."""
    cur.execute(
        f"SELECT algorithm, salt, n, r, p, key_check FROM `{KDF_TABLE}` WHERE id = 1"
        + (" FOR UPDATE" if lock else "")
    )
    row = cur.fetchone()
    if row is None:
        return None
    algorithm, salt, n, r, p, key_check = row
    if algorithm != "scrypt":
        raise SecretError(f"{KDF_TABLE}: unknown key derivation {algorithm!r}")
    if (n, r, p) != (SCRYPT_N, SCRYPT_R, SCRYPT_P):
        raise SecretError(
            f"{KDF_TABLE}: scrypt parameters n={n}, r={r}, p={p} are not this version's"
            f" (n={SCRYPT_N}, r={SCRYPT_R}, p={SCRYPT_P}); the row was changed outside this program"
        )
    try:
        raw_salt = base64.b64decode(str(salt), validate=True)
    except ValueError:
        raw_salt = b""
    if len(raw_salt) != SALT_BYTES or not isinstance(key_check, str):
        raise SecretError(
            f"{KDF_TABLE}: the salt or key check is damaged; the row was changed outside this program"
        )
    return KdfParams(salt=raw_salt), key_check


def store_params(cur, params: KdfParams, key_check: str, now, replace: bool = False) -> None:
    """Write the parameters: once (a concurrent first writer wins), or in place of the old ones."""
    verb = "REPLACE" if replace else "INSERT IGNORE"
    cur.execute(
        f"{verb} INTO `{KDF_TABLE}` (id, algorithm, salt, n, r, p, key_check, updated_at)"
        " VALUES (1, 'scrypt', %s, %s, %s, %s, %s, %s)",
        (base64.b64encode(params.salt).decode(), params.n, params.r, params.p, key_check, now),
    )


MASK = "********"
"""How a saved token (and a proxy's password) is shown: never in full, never enough to use. Sent back (a
DevLake client PATCHes the object it read), it means "unchanged"."""
