"""Connection tokens encrypted at rest with a key from ENCRYPTION_SECRET, as DevLake keeps them.

AES-256-GCM with a key derived from the secret by HKDF-SHA256; each value carries its own random nonce.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import InputError

ENV_VAR = "ENCRYPTION_SECRET"
_PREFIX = "v1:"
_CONTEXT = b"_tool_pagerduty_connections.token"


class SecretError(InputError):
    """No usable ENCRYPTION_SECRET: exit code 2, nothing written."""


def encryption_secret(environ: Mapping[str, str] = os.environ) -> str:
    secret = environ.get(ENV_VAR, "")
    if len(secret) < 8:
        raise SecretError(
            f"{ENV_VAR} must be set (at least 8 characters) to store or read connections; keep it safe:"
            " tokens saved with one secret cannot be read with another"
        )
    return secret


def _cipher(secret: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"pagerduty-dora", info=_CONTEXT).derive(
        secret.encode()
    )
    return AESGCM(key)


def encrypt(plaintext: str, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = _cipher(secret).encrypt(nonce, plaintext.encode(), _CONTEXT)
    return _PREFIX + base64.b64encode(nonce + sealed).decode()


def decrypt(value: str, secret: str) -> str:
    if not value.startswith(_PREFIX):
        raise SecretError("a stored token is not in this project's encrypted form")
    raw = base64.b64decode(value[len(_PREFIX) :])
    try:
        return _cipher(secret).decrypt(raw[:12], raw[12:], _CONTEXT).decode()
    except InvalidTag:
        raise SecretError(
            f"a stored token cannot be decrypted: {ENV_VAR} differs from the one it was saved with"
        ) from None


def mask(token: str) -> str:
    """How a token is shown: never in full, never enough to use."""
    return "*" * 8 if token else ""
